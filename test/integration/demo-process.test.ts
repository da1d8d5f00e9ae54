// Demo mode end to end, as a newcomer starts it: the built entry point with no NYLAS_API_KEY.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Nylas } from '../../src/demo/nylas-sdk.js';
import { parseMetrics, series } from '../helpers/metrics.js';
import { freePort } from '../helpers/process.js';

const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

describe('demo mode (node dist/src/main.js without NYLAS_API_KEY)', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('says it is a demo, and within a minute /metrics shows proxied traffic on several routes with some errors', async () => {
    const proxyPort = await freePort();
    const adminPort = await freePort();
    child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        SIDECAR_LISTEN: `127.0.0.1:${proxyPort}`,
        SIDECAR_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
        SIDECAR_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.stdout!.resume();
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));

    const deadline = Date.now() + 60_000;
    while (!stderr.includes('switch the demo')) {
      if (child.exitCode !== null) throw new Error(`exited early:\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`no banner:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(stderr).toMatch(/DEMO MODE/);
    // The README's SDK line works against the demo as printed: the simulator's key, the proxy URL.
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const snippet = /new Nylas\(\{ apiKey: '([^']+)', apiUri: '([^']+)' \}\)/.exec(readme);
    expect(snippet, 'README SDK snippet').not.toBeNull();
    expect(snippet![2]).toBe('http://127.0.0.1:4000');
    expect(stderr).toContain(
      `new Nylas({ apiKey: '${snippet![1]}', apiUri: 'http://127.0.0.1:${proxyPort}' })`,
    );
    const app = new Nylas({ apiKey: snippet![1]!, apiUri: `http://127.0.0.1:${proxyPort}` });
    const grants = await app.grants.list({ queryParams: { limit: 2 } });
    expect(grants.data.length).toBe(2);
    expect(stderr).toContain(`http://127.0.0.1:${adminPort}/metrics`);
    // The printed scenario command works as printed.
    const command = /curl (?:-s )?-X POST (http:\/\/\S+) .*-d '(\{[^']*\})'/.exec(stderr);
    expect(command, stderr).not.toBeNull();
    const switched = await fetch(command![1]!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: command![2]!.replace('outage', 'healthy'),
    });
    expect(switched.status).toBe(200);

    let routes = new Set<string>();
    let errors = 0;
    while (Date.now() < deadline) {
      const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      const requests = series(parseMetrics(text), 'nylas_api_requests_total');
      routes = new Set(requests.filter((s) => s.value > 0).map((s) => s.labels.route!));
      errors = requests
        .filter((s) => Number(s.labels.code) >= 400)
        .reduce((a, s) => a + s.value, 0);
      if (routes.size >= 5 && errors > 0) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(routes.size).toBeGreaterThanOrEqual(5);
    expect(errors).toBeGreaterThan(0);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
