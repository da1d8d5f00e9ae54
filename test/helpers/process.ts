import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../bench/proc.js';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

/** A free loopback port: the benchmark's helper, shared. */
export { freePort };

export interface SidecarProcess {
  child: ChildProcess;
  proxyUrl: string;
  adminUrl: string;
  stdout: string[];
  stderr: string[];
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Sends a signal (SIGTERM by default) and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the built sidecar (`node dist/src/main.js`) with `env` on free loopback ports and
 * resolves once it printed its addresses.
 */
export async function startSidecarProcess(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<SidecarProcess> {
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    SIDECAR_LISTEN: `127.0.0.1:${proxyPort}`,
    SIDECAR_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
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
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  for (;;) {
    if (stdout.some((l) => l.includes('"event":"started"'))) break;
    if (child.exitCode !== null)
      throw new Error(`the sidecar exited with ${child.exitCode}:\n${stderr.join('\n')}`);
    if (Date.now() - started > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`the sidecar did not start within ${timeoutMs} ms:\n${stderr.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    proxyUrl,
    adminUrl,
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
