import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, freePort, startSidecarProcess } from '../helpers/process.js';

/** Runs the built entry point to completion. */
function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs a command until its output matches `started` (30 s at most), then sends SIGINT to it, or to
 * the process `pidOf` names; resolves everything it printed once it exited.
 */
function untilStarted(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  started: RegExp,
  pidOf?: () => number,
): Promise<string> {
  const child = spawn(cmd, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let signalled = false;
  const stop = () => {
    if (signalled) return;
    signalled = true;
    process.kill(pidOf ? pidOf() : child.pid!, 'SIGINT');
  };
  const deadline = setTimeout(stop, 30_000);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
    if (started.test(out)) stop();
  });
  return new Promise((resolve) =>
    child.on('close', () => {
      clearTimeout(deadline);
      resolve(out);
    }),
  );
}

describe('the nylas-sidecar command', () => {
  it('--check-config accepts a valid configuration and exits 0 without starting', () => {
    const r = run(['--check-config'], { NYLAS_API_KEY: 'k', SIDECAR_LISTEN: '127.0.0.1:1' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('configuration OK');
  });

  it('--check-config lists every problem, masks secrets and exits 1', () => {
    const r = run(['--check-config'], {
      NYLAS_API_KEY: 'nyk_topsecret_value',
      SIDECAR_RETRY_MAX: 'lots',
      SIDECAR_WEBHOOK_VERIFY: 'sometimes',
      SIDECAR_POLL_GRANTS: 'hourly',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('3 problem(s)');
    expect(r.stderr).toMatch(/SIDECAR_RETRY_MAX="lots"/);
    expect(r.stderr).toMatch(/SIDECAR_POLL_GRANTS="hourly"/);
    expect(r.stderr).not.toContain('nyk_topsecret_value');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('says in one line, without a stack trace, that SIDECAR_MAX_ROUTE_SERIES is retired', () => {
    const r = run(['--check-config'], { NYLAS_API_KEY: 'k', SIDECAR_MAX_ROUTE_SERIES: '150' });
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.includes('SIDECAR_MAX_ROUTE_SERIES'));
    expect(lines).toEqual([
      expect.stringMatching(
        /^ {2}- SIDECAR_MAX_ROUTE_SERIES: no longer a setting: every \(method, route\) pair of the route table is labelled by name/,
      ),
    ]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects an unknown option with the usage text', () => {
    const r = run(['--frobnicate'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown option --frobnicate');
    expect(r.stderr).toContain('Usage: nylas-sidecar');
  });

  it('says clearly when a listener address is taken', async () => {
    const { createServer } = await import('node:net');
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const r = run([], {
        NYLAS_API_KEY: 'k',
        SIDECAR_LISTEN: `127.0.0.1:${port}`,
        SIDECAR_ADMIN_LISTEN: '127.0.0.1:0',
      });
      expect(r.code).toBe(1);
      // One line that names the setting and the busy address.
      expect(r.stderr.trim().split('\n')).toEqual([
        `nylas-sidecar: could not start: SIDECAR_LISTEN=127.0.0.1:${port}: the address is already in use (another process, or another of these listeners) (EADDRINUSE)`,
      ]);
    } finally {
      blocker.close();
    }
  });

  it('--check-config rejects a port alone as a listen address, naming the variable', () => {
    const r = run(['--check-config'], { NYLAS_API_KEY: 'k', SIDECAR_LISTEN: '4000' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      '  - SIDECAR_LISTEN="4000": a port alone is not an address; allowed: host:port, e.g. 127.0.0.1:4000 (this host only) or 0.0.0.0:4000 (every interface)\n',
    );
  });

  it('names the variable and the address when no interface has it', () => {
    const r = run([], {
      NYLAS_API_KEY: 'k',
      SIDECAR_LISTEN: '127.0.0.1:0',
      SIDECAR_ADMIN_LISTEN: '192.0.2.1:0',
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'nylas-sidecar: could not start: SIDECAR_ADMIN_LISTEN=192.0.2.1:0: no interface of this machine has that address (EADDRNOTAVAIL)',
    ]);
  });

  it('writes readable log lines on a terminal and JSON otherwise', async () => {
    const env = {
      NYLAS_API_KEY: 'k',
      SIDECAR_LISTEN: '127.0.0.1:0',
      SIDECAR_ADMIN_LISTEN: '127.0.0.1:0',
      SIDECAR_POLL_GRANTS: 'off',
      SIDECAR_POLL_WEBHOOKS: 'off',
      SIDECAR_POLL_STATUS_PAGE: 'off',
    };
    // util-linux script(1) gives the process a pseudo-terminal. The sidecar is stopped with
    // SIGINT once it says it started (not after a fixed time: a loaded machine starts it late).
    const dir = mkdtempSync(join(tmpdir(), 'sidecar-tty-'));
    const tty = await untilStarted(
      'script',
      ['-qec', `sh -c 'echo $$ > ${dir}/pid; exec ${process.execPath} ${MAIN}'`, '/dev/null'],
      env,
      /nylas-sidecar started/,
      () => Number(readFileSync(join(dir, 'pid'), 'utf8')),
    );
    expect(tty).toMatch(/INFO.*nylas-sidecar started/);
    expect(tty).not.toContain('{"level"');
    const piped = await untilStarted(process.execPath, [MAIN], env, /nylas-sidecar started/);
    expect(piped).toMatch(/^\{"level":"info".*"msg":"nylas-sidecar started"\}$/m);
  });

  it('gives the YAML parser’s reason and the line to fix', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sidecar-yaml-')), 'sidecar.yml');
    writeFileSync(
      file,
      'NYLAS_API_KEY: k\nSIDECAR_LISTEN: 127.0.0.1:4000\n  SIDECAR_LOG_LEVEL: debug\n',
    );
    const r = run(['--check-config'], { SIDECAR_CONFIG: file });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `  - SIDECAR_CONFIG="${file}": not valid YAML at line 3: Nested mappings are not allowed in compact mappings ("SIDECAR_LOG_LEVEL: debug")\n`,
    );
  });

  it('names the valid scenarios when demo mode is asked for an unknown one', () => {
    const r = run([], {
      SIDECAR_DEMO_SCENARIO: 'meltdown',
      SIDECAR_LISTEN: '127.0.0.1:0',
      SIDECAR_ADMIN_LISTEN: '127.0.0.1:0',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown demo scenario "meltdown".*healthy.*outage/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('switches the demo scenario with the one command the banner prints', async () => {
    const proc = await startSidecarProcess({ SIDECAR_POLL_STATUS_PAGE: '*/1 * * * * *' });
    try {
      const banner = proc.stderr.join('\n');
      expect(banner).toContain('DEMO MODE');
      expect(banner).toContain(`curl -X POST ${proc.adminUrl}/demo/scenario`);
      const res = await fetch(`${proc.adminUrl}/demo/scenario`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'platform-incident' }),
      });
      expect(res.status).toBe(200);
      const bad = await fetch(`${proc.adminUrl}/demo/scenario`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'meltdown' }),
      });
      expect(bad.status).toBe(400);
      // The status-page poller (every second here) sees the incident the scenario opened.
      await expect
        .poll(
          async () =>
            (await (await fetch(`${proc.adminUrl}/metrics`)).text()).match(
              /^nylas_status_page_indicator (\d)/m,
            )?.[1],
          {
            timeout: 15_000,
          },
        )
        .toBe('2');
    } finally {
      await proc.stop();
    }
  });
});
