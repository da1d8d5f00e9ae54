import { Writable } from 'node:stream';
import { createSidecar, type Sidecar, type SidecarAddresses } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import type { Tracing } from '../../src/tracing/index.js';

export interface TestSidecar {
  sidecar: Sidecar;
  /** `proxy` is '' for a pollers-role sidecar (it runs no proxy). */
  urls: Omit<SidecarAddresses, 'proxy'> & { proxy: string };
  /** Every JSON log line written so far. */
  logs: string[];
  stop(): Promise<void>;
}

/** Settings every in-process test sidecar starts from: loopback, port 0, pollers off. */
export const TEST_ENV: Record<string, string> = {
  NYLAS_API_KEY: 'test-api-key',
  SIDECAR_LISTEN: '127.0.0.1:0',
  SIDECAR_ADMIN_LISTEN: '127.0.0.1:0',
  SIDECAR_POLL_GRANTS: 'off',
  SIDECAR_POLL_GRANTS_CENSUS: 'off',
  SIDECAR_POLL_WEBHOOKS: 'off',
  SIDECAR_POLL_STATUS_PAGE: 'off',
  SIDECAR_POLL_ACCOUNTS: 'off',
  SIDECAR_LOG_LEVEL: 'info',
  SIDECAR_SHUTDOWN_GRACE_MS: '5000',
};

/** Starts a sidecar in this process with TEST_ENV plus `env`, capturing its log lines. */
export async function startTestSidecar(
  env: Record<string, string>,
  opts: { tracing?: Tracing; webConfigWatchMs?: number } = {},
): Promise<TestSidecar> {
  const config = loadConfig({ env: { ...TEST_ENV, ...env } });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
      cb();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination });
  const sidecar = createSidecar(config, {
    logger,
    version: '0.0.0-test',
    tracing: opts.tracing,
    defaultMetrics: false,
    webConfigWatchMs: opts.webConfigWatchMs,
  });
  const urls = await sidecar.start();
  return { sidecar, urls: { ...urls, proxy: urls.proxy ?? '' }, logs, stop: () => sidecar.stop() };
}
