import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'node:http';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { scrape, total } from '../helpers/metrics.js';

/** A raw socket to the proxy that records what it receives and when it closes. */
function openRaw(url: string) {
  const { hostname, port } = new URL(url);
  const sock: Socket = connect(Number(port), hostname);
  const state = { received: '', closed: false };
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => (state.received += d));
  sock.on('error', () => undefined);
  const closed = new Promise<void>((r) =>
    sock.on('close', () => {
      state.closed = true;
      r();
    }),
  );
  return { sock, state, closed };
}

/** Writes `bytes` one at a time, `everyMs` apart, until done or the socket closes. */
async function trickle(sock: Socket, bytes: string, everyMs: number): Promise<number> {
  let sent = 0;
  for (const b of bytes) {
    if (sock.destroyed || !sock.writable) break;
    sock.write(b);
    sent++;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return sent;
}

describe('slow clients on the proxy listener', () => {
  let upstream: FakeUpstream;
  let sidecar: TestSidecar;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    sidecar = await startTestSidecar({
      NYLAS_API_URI: upstream.url,
      SIDECAR_HEADERS_TIMEOUT_MS: '400',
      SIDECAR_UPSTREAM_TIMEOUT_MS: '1000',
    });
  });
  afterAll(async () => {
    await sidecar?.stop();
    await upstream?.close();
  });

  it('cuts a client that sends its headers one byte at a time, with a 408', async () => {
    const raw = openRaw(sidecar.urls.proxy);
    raw.sock.write('GET /v3/grants HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    // 400 bytes at 50 ms each would take 20 s: the proxy must cut it long before the end.
    const sent = await trickle(raw.sock, 'a'.repeat(400), 50);
    await raw.closed;
    expect(raw.state.closed).toBe(true);
    expect(sent).toBeLessThan(400);
    expect(raw.state.received).toMatch(/^HTTP\/1\.1 408 /);
    // The request never reached the upstream.
    expect(upstream.seen.some((s) => s.headers['x-slow'] !== undefined)).toBe(false);
  });

  it('cuts a client that sends its headers to the admin listener one byte at a time', async () => {
    const raw = openRaw(sidecar.urls.admin);
    raw.sock.write('GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const sent = await trickle(raw.sock, 'a'.repeat(400), 50);
    await raw.closed;
    expect(raw.state.closed).toBe(true);
    expect(sent).toBeLessThan(400);
    expect(raw.state.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('never cuts a download that keeps moving for longer than the header timeout', async () => {
    const size = 4 * 1024 * 1024;
    const got = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${sidecar.urls.proxy}/v3/grants/g/attachments/a/download?size=${size}&gate=1`,
        (res) => {
          let n = 0;
          // The first chunk is here; the rest comes past the 400 ms header timeout, and well
          // inside the 1 s upstream idle timeout (a pause near it would race that timer).
          res.once('data', () => setTimeout(() => upstream.release(), 600));
          res.on('data', (c: Buffer) => (n += c.length));
          res.on('end', () => resolve(n));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(got).toBe(size);
  });

  it('never cuts an upload that keeps moving for longer than the header and upstream timeouts', async () => {
    const chunks = 30;
    const chunk = Buffer.alloc(4096, 3);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${sidecar.urls.proxy}/v3/grants/g/messages/send`,
        { method: 'POST', headers: { 'content-length': String(chunks * chunk.length) } },
        (r) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (d: string) => (body += d));
          r.on('end', () => resolve({ status: r.statusCode!, body }));
        },
      );
      req.on('error', reject);
      let i = 0;
      // 30 chunks, 80 ms apart: about 2.4 s in all, past both timeouts, never idle for long.
      const next = () => {
        req.write(chunk);
        if (++i < chunks) setTimeout(next, 80);
        else req.end();
      };
      next();
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ data: { body_bytes: chunks * chunk.length } });
  });
});

describe('slow uploads and the upstream pool', () => {
  let upstream: FakeUpstream;
  let sidecar: TestSidecar;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    sidecar = await startTestSidecar({
      NYLAS_API_URI: upstream.url,
      // 2 s: far above the 300 ms gaps of the downloads below, which hundreds of connections in
      // one loaded process must never stretch to a timeout.
      SIDECAR_UPSTREAM_TIMEOUT_MS: '2000',
    });
  });
  afterAll(async () => {
    await sidecar?.stop();
    await upstream?.close();
  });

  it('serves a GET at once while more slow uploads than pool connections trickle in, and answers every upload 408 or 504 and closes it', async () => {
    const agent = new Agent({ keepAlive: false, maxSockets: 64 });
    // More uploads than the 256 upstream connections, each promising 100,000 bytes and sending
    // one byte every 200 ms.
    const uploads = Array.from({ length: 300 }, () => {
      const raw = openRaw(sidecar.urls.proxy);
      raw.sock.write(
        'POST /v3/grants/g/messages/send HTTP/1.1\r\nHost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 100000\r\n\r\n',
      );
      const sending = trickle(raw.sock, 'x'.repeat(100), 200);
      return { raw, sending };
    });
    await expect.poll(() => upstream.open(), { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    const get = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${sidecar.urls.proxy}/v3/grants`, { agent }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (body += d));
        r.on('end', () => resolve({ status: r.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(get.status).toBe(200);
    expect(get.body).toContain('grant-1');
    // Every slow upload is answered and its connection closed, long before its 100 bytes would
    // have been sent: 408 for a body that stalled on an upstream connection, or 504 for one that
    // waited longer than the upstream timeout for a connection (there are 256 for uploads).
    for (const u of uploads) {
      await u.raw.closed;
      expect(u.raw.state.received).toMatch(/^HTTP\/1\.1 (408|504) /);
      expect(await u.sending).toBeLessThan(100);
    }
    agent.destroy();
    const samples = await scrape(sidecar.urls.admin);
    const route = '/v3/grants/{grant_id}/messages/send';
    const stalled = total(samples, 'nylas_api_requests_total', {
      route,
      code: '408',
      error_type: 'client_timeout',
    });
    const waited = total(samples, 'nylas_api_requests_total', {
      route,
      code: '504',
      error_type: 'upstream_timeout',
    });
    expect(stalled).toBeGreaterThan(0);
    expect(stalled + waited).toBe(300);
    expect(total(samples, 'nylas_api_inflight_requests')).toBe(0);
  });

  it(
    'answers 504 upstream_timeout to a request that waits longer than the upstream timeout for a connection',
    { timeout: 30_000 },
    async () => {
      const agent = new Agent({ keepAlive: false, maxSockets: 400 });
      const get = (path: string) =>
        new Promise<{ status: number; error: string | undefined; bytes: number }>(
          (resolve, reject) => {
            const req = request(`${sidecar.urls.proxy}${path}`, { agent }, (r) => {
              let bytes = 0;
              r.on('data', (c: Buffer) => (bytes += c.length));
              r.on('end', () =>
                resolve({
                  status: r.statusCode!,
                  error: r.headers['x-nylas-sidecar-error'] as string | undefined,
                  bytes,
                }),
              );
            });
            req.on('error', reject);
            req.end();
          },
        );
      // 256 downloads that keep moving (1 KB every 300 ms, 6 s in all) hold every connection of
      // the pool for requests without a body, without ever tripping the 2 s idle timers.
      const downloads = Array.from({ length: 256 }, () =>
        get('/v3/grants/g/attachments/a/download?size=20480&trickle=300'),
      );
      await expect.poll(() => upstream.open(), { timeout: 10_000 }).toBe(256);
      const waiting = await get('/v3/grants');
      expect(waiting.status).toBe(504);
      expect(waiting.error).toBe('upstream_timeout');
      const done = await Promise.all(downloads);
      expect(done.every((d) => d.status === 200 && d.bytes === 20480)).toBe(true);
      agent.destroy();
      const samples = await scrape(sidecar.urls.admin);
      expect(
        total(samples, 'nylas_api_requests_total', {
          route: '/v3/grants',
          code: '504',
          error_type: 'upstream_timeout',
        }),
      ).toBe(1);
    },
  );
});
