import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

/** A free loopback port (./ports.ts), re-exported for the tests that start processes. */
export { freePort };

export interface SidecarProcess {
  child: ChildProcess;
  /**
   * The proxy's address as the sidecar reported it. A role that runs no proxy (pollers) gets
   * `http://127.0.0.1:0`, where every connection is refused.
   */
  proxyUrl: string;
  adminUrl: string;
  /** The webhook listener's address, when the sidecar runs one. */
  webhookUrl?: string;
  stdout: string[];
  stderr: string[];
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Sends a signal (SIGTERM by default) and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Where nothing listens: what `proxyUrl` is when the sidecar runs no proxy. */
const NO_LISTENER = 'http://127.0.0.1:0';

interface StartedLine {
  proxy?: string;
  admin?: string;
  webhook?: string;
}

/** The sidecar's `"event":"started"` JSON log line (its listeners' real addresses), if printed. */
function startedLine(lines: readonly string[]): StartedLine | undefined {
  for (const line of lines) {
    if (!line.includes('"event":"started"')) continue;
    try {
      const parsed = JSON.parse(line) as { event?: unknown } & StartedLine;
      if (parsed.event === 'started') return parsed;
    } catch {
      // Not a JSON log line; keep looking.
    }
  }
  return undefined;
}

/**
 * Starts the built sidecar (`node dist/src/main.js`) with `env` and resolves once it printed its
 * addresses. Unless `env` sets them, its listeners bind loopback port 0 and the URLs returned are
 * the ports it got, read from its `started` log line: picking free ports here and handing them
 * over raced other test workers for them (EADDRINUSE).
 */
export async function startSidecarProcess(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<SidecarProcess> {
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    SIDECAR_LISTEN: '127.0.0.1:0',
    SIDECAR_ADMIN_LISTEN: '127.0.0.1:0',
    SIDECAR_POLL_GRANTS: 'off',
    SIDECAR_POLL_GRANTS_CENSUS: 'off',
    SIDECAR_POLL_WEBHOOKS: 'off',
    SIDECAR_POLL_STATUS_PAGE: 'off',
    SIDECAR_POLL_ACCOUNTS: 'off',
    ...env,
  };
  const child = spawn(process.execPath, [MAIN], {
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const collect = (into: string[]) => {
    let buf = '';
    return (d: Buffer) => {
      buf += d.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop()!;
      into.push(...lines);
    };
  };
  child.stdout.on('data', collect(stdout));
  child.stderr.on('data', collect(stderr));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const started = Date.now();
  let addresses: StartedLine | undefined;
  for (;;) {
    addresses = startedLine(stdout);
    if (addresses) break;
    if (child.exitCode !== null)
      throw new Error(`the sidecar exited with ${child.exitCode}:\n${stderr.join('\n')}`);
    if (Date.now() - started > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`the sidecar did not start within ${timeoutMs} ms:\n${stderr.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!addresses.admin) {
    child.kill('SIGKILL');
    throw new Error(`the sidecar's started line names no admin address:\n${stdout.join('\n')}`);
  }
  return {
    child,
    proxyUrl: addresses.proxy ?? NO_LISTENER,
    adminUrl: addresses.admin,
    webhookUrl: addresses.webhook,
    stdout,
    stderr,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
