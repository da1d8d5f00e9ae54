// Each role loads what it uses, when it uses it: the built entry point is started per role with a
// preload that records every module file it loads, and the packages (families) are compared with
// what that role may load. A proxy in every app pod pays for each package it loads, once per pod.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startSidecarProcess } from '../helpers/process.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';

const PRELOAD = pathToFileURL(
  new URL('../helpers/record-modules.mjs', import.meta.url).pathname,
).href;
const dir = mkdtempSync(join(tmpdir(), 'role-modules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The families a process loaded: `node_modules/<package>` by package name, the project's own
 * `dist/src/<folder>/` as `src/<folder>`.
 */
function families(files: string[]): Set<string> {
  const out = new Set<string>();
  for (const f of files) {
    const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
    if (pkg) out.add(pkg[1]!);
    else {
      const own = /\/dist\/src\/([^/]+)\//.exec(f);
      if (own) out.add(`src/${own[1]}`);
    }
  }
  return out;
}

let n = 0;
/** Starts the sidecar with `env`, waits until /readyz answers 200, stops it, returns its families. */
async function loadedBy(env: Record<string, string>, pages: string[] = []): Promise<Set<string>> {
  const out = join(dir, `modules-${n++}.txt`);
  const sc = await startSidecarProcess({
    NODE_OPTIONS: `--import ${PRELOAD}`,
    RECORD_MODULES_TO: out,
    NYLAS_API_KEY: 'role-modules-key',
    NYLAS_API_URI: 'http://127.0.0.1:9',
    ...env,
  });
  try {
    const ready = await fetch(`${sc.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    // What a first scrape loads counts too: Prometheus scrapes every replica.
    expect((await fetch(`${sc.adminUrl}/metrics`)).status).toBe(200);
    for (const page of pages) expect((await fetch(`${sc.adminUrl}${page}`)).status, page).toBe(200);
  } finally {
    expect(await sc.stop()).toBe(0);
  }
  return families(readFileSync(out, 'utf8').split('\n').filter(Boolean));
}

/** Packages no role loads: the OpenTelemetry SDK parts the sidecar has no use for. */
const NEVER = [
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/sdk-logs',
  '@opentelemetry/otlp-grpc-exporter-base',
  '@opentelemetry/exporter-zipkin',
  '@opentelemetry/propagator-b3',
  '@opentelemetry/instrumentation',
  '@opentelemetry/exporter-metrics-otlp-http',
];
/** Loaded only in demo mode, by the interactive terminal, or for a config file. */
const ONLY_ON_DEMAND = ['src/simulator', 'src/demo', 'nylas', 'pino-pretty', 'yaml'];
/** zod validates Nylas's answers: loaded on the first call to Nylas, which a proxy may never make. */
const NYLAS_ANSWERS = ['zod'];
/**
 * The admin listener answers /metrics, /healthz and /readyz on node:http; express and the status
 * pages load on the first request for a page.
 */
const PAGES = ['express'];
/** The pollers' scheduler: a proxy runs no poller. */
const SCHEDULER = ['node-cron'];
/**
 * The schedules' defaults, as a pod that sets none has them (the process helper turns every
 * poller off unless told).
 */
const DEFAULT_SCHEDULES = {
  SIDECAR_POLL_GRANTS: '*/5 * * * *',
  SIDECAR_POLL_GRANTS_CENSUS: '7 * * * *',
  SIDECAR_POLL_WEBHOOKS: '* * * * *',
  SIDECAR_POLL_STATUS_PAGE: '* * * * *',
  SIDECAR_POLL_ACCOUNTS: '*/5 * * * *',
};
/** The span export path: only with an OTLP endpoint. */
const EXPORT = [
  '@opentelemetry/core',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/otlp-exporter-base',
  '@opentelemetry/otlp-transformer',
  '@opentelemetry/resources',
];

const missing = (loaded: Set<string>, wanted: string[]) => wanted.filter((f) => !loaded.has(f));
const present = (loaded: Set<string>, unwanted: string[]) => unwanted.filter((f) => loaded.has(f));

describe('modules loaded per role', () => {
  it('the proxy role loads the proxy, metrics and admin parts, and nothing of span export, zod, node-cron, express, the demo or YAML', async () => {
    const loaded = await loadedBy({ SIDECAR_ROLE: 'proxy', ...DEFAULT_SCHEDULES });
    // The recorder sees what the proxy does use (so an empty list cannot pass).
    expect(missing(loaded, ['undici', 'prom-client', 'pino', 'src/proxy', 'src/metrics'])).toEqual(
      [],
    );
    expect(
      present(loaded, [
        ...NEVER,
        ...ONLY_ON_DEMAND,
        ...EXPORT,
        ...NYLAS_ANSWERS,
        ...SCHEDULER,
        ...PAGES,
      ]),
    ).toEqual([]);
  });

  it('the proxy role exporting spans loads the trace SDK and the OTLP exporter, and still no metrics or logs SDK', async () => {
    const otlp = await startOtlpReceiver();
    try {
      const loaded = await loadedBy({
        SIDECAR_ROLE: 'proxy',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      });
      expect(missing(loaded, EXPORT)).toEqual([]);
      expect(present(loaded, [...NEVER, ...ONLY_ON_DEMAND, ...NYLAS_ANSWERS, ...PAGES])).toEqual(
        [],
      );
    } finally {
      await otlp.close();
    }
  });

  it('the pollers role loads the pollers, and not the demo, the Nylas SDK or YAML', async () => {
    const loaded = await loadedBy({
      SIDECAR_ROLE: 'pollers',
      SIDECAR_POLL_STATUS_PAGE: '* * * * *',
    });
    expect(missing(loaded, ['src/pollers', 'node-cron'])).toEqual([]);
    expect(present(loaded, [...NEVER, ...ONLY_ON_DEMAND, ...EXPORT])).toEqual([]);
  });

  it('the first request for a status page loads express and the pages', async () => {
    const loaded = await loadedBy({ SIDECAR_ROLE: 'proxy' }, ['/status', '/']);
    expect(missing(loaded, PAGES)).toEqual([]);
  });

  it('a SIDECAR_CONFIG file loads the YAML parser', async () => {
    const file = join(dir, 'sidecar.yaml');
    writeFileSync(file, 'SIDECAR_LOG_LEVEL: info\n');
    const loaded = await loadedBy({ SIDECAR_ROLE: 'proxy', SIDECAR_CONFIG: file });
    expect(missing(loaded, ['yaml'])).toEqual([]);
  });
});
