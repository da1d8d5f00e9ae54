import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecarProcess, type SidecarProcess } from '../helpers/process.js';

// The built sidecar as `npm start` runs it: the helper passes no NODE_ENV to the child.
let sc: SidecarProcess;
let webhookUrl: string;

beforeAll(async () => {
  sc = await startSidecarProcess({
    NYLAS_API_KEY: 'process-errors-key',
    SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
    SIDECAR_WEBHOOK_FORWARD_URL: 'http://127.0.0.1:9/hook',
  });
  if (!sc.webhookUrl) throw new Error('the sidecar reported no webhook listener');
  webhookUrl = sc.webhookUrl;
});

afterAll(async () => {
  await sc?.stop();
});

const STACK_OR_PATH = /\n\s+at |\bat .*\(\/|node_modules|\/work\/|file:\/\//;

describe('errors of the built sidecar with NODE_ENV unset', () => {
  it('answers GET /support/%ZZ with a short JSON 400, one JSON log line and nothing on stderr', async () => {
    expect(sc.child.spawnargs.join(' ')).not.toContain('NODE_ENV');
    const stderrBefore = sc.stderr.length;
    const res = await fetch(`${sc.adminUrl}/support/%ZZ`);
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'sidecar.invalid_request' } });
    expect(text).not.toMatch(STACK_OR_PATH);

    // The log line is written asynchronously: wait for it (bounded by the test timeout).
    let line: string | undefined;
    while (!(line = sc.stdout.find((l) => l.includes('"event":"admin_error"'))))
      await new Promise((r) => setTimeout(r, 20));
    expect(JSON.parse(line)).toMatchObject({ status: 400, error_name: 'URIError' });
    expect(line).not.toMatch(STACK_OR_PATH);
    for (const l of sc.stdout) expect(() => JSON.parse(l) as unknown).not.toThrow();
    expect(sc.stderr.slice(stderrBefore)).toEqual([]);
  });

  it('answers an unknown admin path with JSON, not an HTML error page', async () => {
    const res = await fetch(`${sc.adminUrl}/does-not-exist`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.text()).not.toMatch(/<html|<pre>|does-not-exist/i);
  });

  it('answers malformed webhook requests with short answers and no stack on stderr', async () => {
    const stderrBefore = sc.stderr.length;
    for (const [path, init] of [
      ['/%ZZ', { method: 'GET' }],
      ['/', { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } }],
      ['/', { method: 'DELETE' }],
    ] as const) {
      const res = await fetch(`${webhookUrl}${path}`, init);
      const text = await res.text();
      expect(res.status, `${init.method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(text.length).toBeLessThan(300);
      expect(text).not.toMatch(STACK_OR_PATH);
      expect(text).not.toMatch(/<html/i);
    }
    expect(sc.stderr.slice(stderrBefore).join('\n')).not.toMatch(STACK_OR_PATH);
  });
});
