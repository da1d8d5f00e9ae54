// `npm run simulator` as a user runs it: the built CLI in a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/src/simulator/cli.js', import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out, exited };
}

async function waitFor<T>(f: () => T | undefined, ms = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the simulator CLI', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints its bound URL and the control commands, serves the API, and exits 0 on SIGTERM', async () => {
    const r = run([
      '--port',
      '0',
      '--scenario',
      'invalid-grants',
      '--grants',
      '3000',
      '--seed',
      '9',
    ]);
    child = r.child;
    const url = await waitFor(
      () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(r.out.stdout)?.[1],
    );
    expect(r.out.stdout).toContain('/_simulator/scenario');
    expect(r.out.stdout).toContain('PATCH  /_simulator/faults');
    const res = await fetch(`${url}/v3/grants?grant_status=invalid&limit=200`, {
      headers: { authorization: 'Bearer nylas-sim-api-key' },
    });
    const body = (await res.json()) as { data: Array<{ grant_status: string }> };
    expect(body.data.length).toBe(200);
    const state = (await (await fetch(`${url}/_simulator/state`)).json()) as {
      scenario: string;
      grants: { total: number };
    };
    expect(state).toMatchObject({ scenario: 'invalid-grants', grants: { total: 3000 } });
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });

  it('prints usage for --help and refuses unknown options and scenarios', async () => {
    const help = run(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.out.stdout).toMatch(/--invalid-grants N/);
    const bad = run(['--bogus']);
    expect(await bad.exited).toBe(2);
    expect(bad.out.stderr).toMatch(/bogus/);
    const scen = run(['--scenario', 'meltdown']);
    expect(await scen.exited).toBe(2);
    expect(scen.out.stderr).toMatch(/valid scenarios: healthy/);
  });
});
