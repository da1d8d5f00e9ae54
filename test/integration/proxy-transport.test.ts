import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { scrape, total } from '../helpers/metrics.js';

/** Sends raw bytes to a host:port URL and resolves with everything it answers. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname, () => sock.write(bytes));
    let out = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (out += d));
    sock.on('end', () => resolve(out));
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
    setTimeout(() => sock.end(), 2000).unref();
  });
}

/** A GET with node:http that returns status, headers and the raw (undecoded) body. */
function rawGet(url: string, headers: Record<string, string> = {}) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }>((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('proxy transport behaviour', () => {
  let upstream: FakeUpstream;
  let sidecar: TestSidecar;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    sidecar = await startTestSidecar({ NYLAS_API_URI: upstream.url });
  });
  afterAll(async () => {
    await sidecar?.stop();
    await upstream?.close();
  });

  it('passes a gzip body through untouched, compressed', async () => {
    const direct = await rawGet(`${upstream.url}/v3/grants/g/threads?fault=gzip`, {
      'accept-encoding': 'gzip',
    });
    const proxied = await rawGet(`${sidecar.urls.proxy}/v3/grants/g/threads?fault=gzip`, {
      'accept-encoding': 'gzip',
    });
    expect(proxied.headers['content-encoding']).toBe('gzip');
    expect(proxied.body.equals(direct.body)).toBe(true);
  });

  it('reads the error type of a gzip-compressed error body', async () => {
    const res = await rawGet(`${sidecar.urls.proxy}/v3/grants/g/threads?fault=gzip404`, {
      'accept-encoding': 'gzip',
    });
    expect(res.status).toBe(404);
    const samples = await scrape(sidecar.urls.admin);
    expect(
      total(samples, 'nylas_api_requests_total', {
        code: '404',
        error_type: 'api.not_found_error',
      }),
    ).toBe(1);
  });

  it('labels an error type outside the known list as other', async () => {
    const res = await fetch(`${sidecar.urls.proxy}/v3/grants/g/threads?fault=weird`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: { type: 'brand.new_error_type' } });
    const samples = await scrape(sidecar.urls.admin);
    expect(total(samples, 'nylas_api_requests_total', { code: '500', error_type: 'other' })).toBe(
      1,
    );
    expect(samples.some((s) => s.labels.error_type === 'brand.new_error_type')).toBe(false);
  });

  it('counts a 401 on a grant route as a grant auth failure once the key is seen working', async () => {
    await fetch(`${sidecar.urls.proxy}/v3/grants/g/threads?fault=401`);
    // Until the same credential succeeds elsewhere, the 401 could be the API key's (key-health).
    expect(
      total(await scrape(sidecar.urls.admin), 'nylas_grant_auth_failures_total', {
        route: '/v3/grants/{grant_id}/threads',
      }),
    ).toBe(0);
    expect((await fetch(`${sidecar.urls.proxy}/v3/grants/g2/threads`)).status).toBe(200);
    const samples = await scrape(sidecar.urls.admin);
    expect(
      total(samples, 'nylas_grant_auth_failures_total', { route: '/v3/grants/{grant_id}/threads' }),
    ).toBe(1);
  });

  it('drops hop-by-hop headers and the ones named by Connection, keeps the rest', async () => {
    upstream.seen.length = 0;
    const answer = await rawExchange(
      sidecar.urls.proxy,
      'GET /echo HTTP/1.1\r\nHost: evil.example\r\nConnection: close, X-Hop\r\nX-Hop: secret-hop\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic abc\r\nX-Custom: kept\r\nAuthorization: Bearer k\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    const seen = upstream.seen.at(-1)!;
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.headers.authorization).toBe('Bearer k');
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(seen.headers.host).toBe(new URL(upstream.url).host);
  });

  it('refuses absolute-form targets, CONNECT and escaping paths without contacting the upstream', async () => {
    upstream.seen.length = 0;
    const absolute = await rawExchange(
      sidecar.urls.proxy,
      'GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n',
    );
    expect(absolute).toMatch(/^HTTP\/1.1 400/);
    const connectAnswer = await rawExchange(
      sidecar.urls.proxy,
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    );
    expect(connectAnswer).toMatch(/^HTTP\/1.1 405/);
    for (const path of [
      '/v3/../admin',
      '/v3/%2e%2e/admin',
      '/v3/grants/..%2f..%2fsecret',
      '/v3/grants/a\\..\\b',
      '/v3/grants/a%5c..%5cb',
      '/v3/grants/%zz/messages',
      '/v3/%2e/grants',
      '//evil.example/x',
    ]) {
      const ans = await rawExchange(
        sidecar.urls.proxy,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(ans, path).toMatch(/^HTTP\/1.1 400/);
    }
    expect(upstream.seen).toHaveLength(0);
  });

  it('answers a Nylas-shaped 502 when the upstream resets the connection', async () => {
    const res = await fetch(`${sidecar.urls.proxy}/v3/grants/g/threads?fault=reset`);
    expect(res.status).toBe(502);
    expect(res.headers.get('x-nylas-sidecar-error')).toBe('upstream_unavailable');
    const body = (await res.json()) as {
      request_id: string;
      error: { type: string; message: string };
    };
    expect(body.error.type).toBe('sidecar.upstream_unavailable');
    expect(body.request_id).toMatch(/^sidecar-/);
    expect(res.headers.get('x-request-id')).toBe(body.request_id);
  });

  it('cancels the upstream request when the app goes away', async () => {
    const before = upstream.seen.length;
    const ac = new AbortController();
    const pending = fetch(`${sidecar.urls.proxy}/v3/grants/g/threads?fault=slow&ms=30000`, {
      signal: ac.signal,
    }).catch((e: unknown) => e);
    await expect.poll(() => upstream.seen.length, { timeout: 5000 }).toBe(before + 1);
    ac.abort();
    await pending;
    await expect.poll(() => upstream.seen.at(-1)!.aborted, { timeout: 5000 }).toBe(true);
    const samples = await scrape(sidecar.urls.admin);
    expect(
      total(samples, 'nylas_api_requests_total', { code: '499', error_type: 'client_aborted' }),
    ).toBe(1);
    expect(total(samples, 'nylas_api_inflight_requests')).toBe(0);
  });

  it('keeps the number of series bounded under 10,000 never-seen paths and IDs', async () => {
    const before = (await (await fetch(`${sidecar.urls.admin}/metrics`)).text()).split('\n').length;
    const rand = () => Math.random().toString(36).slice(2);
    const paths = Array.from({ length: 10_000 }, (_, i) => {
      switch (i % 5) {
        case 0:
          return `/${rand()}/${rand()}`;
        case 1:
          return `/v3/grants/${rand()}%40example.com/messages/${rand()}`;
        case 2:
          return `/v3/grants/${rand()}/${rand()}?q=${rand()}`;
        case 3:
          return `/v3/${rand()}`;
        default:
          return `/v3/grants/grant:${rand()}/events/${rand()}/send-rsvp`;
      }
    });
    for (let i = 0; i < paths.length; i += 100) {
      await Promise.all(
        paths
          .slice(i, i + 100)
          .map((p) => fetch(sidecar.urls.proxy + p).then((r) => r.arrayBuffer())),
      );
    }
    const text = await (await fetch(`${sidecar.urls.admin}/metrics`)).text();
    const after = text.split('\n').length;
    // A handful of new label sets (route x code), never one per path.
    expect(after - before).toBeLessThan(150);
    expect(text).not.toMatch(/example\.com|grant:/);
    const samples = await scrape(sidecar.urls.admin);
    expect(total(samples, 'nylas_api_requests_total', { route: 'other' })).toBeGreaterThanOrEqual(
      6000,
    );
  });
});

describe('proxy against an unreachable or slow upstream', () => {
  let sidecar: TestSidecar | undefined;
  afterEach(async () => {
    await sidecar?.stop();
    sidecar = undefined;
  });

  it('answers 502 upstream_unavailable when nothing listens upstream', async () => {
    const tcp = createTcpServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const { port } = tcp.address() as AddressInfo;
    await new Promise<void>((r) => tcp.close(() => r()));
    sidecar = await startTestSidecar({ NYLAS_API_URI: `http://127.0.0.1:${port}` });
    const res = await fetch(`${sidecar.urls.proxy}/v3/grants`);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { type: 'sidecar.upstream_unavailable' } });
    const samples = await scrape(sidecar.urls.admin);
    expect(
      total(samples, 'nylas_api_requests_total', {
        route: '/v3/grants',
        code: '502',
        error_type: 'upstream_unavailable',
      }),
    ).toBe(1);
    expect(
      total(samples, 'nylas_api_request_duration_seconds_count', { status_class: 'error' }),
    ).toBe(0);
    const log = sidecar.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.event === 'upstream_error');
    expect(log).toMatchObject({
      route: '/v3/grants',
      code: 502,
      error_type: 'upstream_unavailable',
    });
  });

  it('answers 504 upstream_timeout past SIDECAR_UPSTREAM_TIMEOUT_MS', async () => {
    const upstream = await startFakeUpstream();
    try {
      sidecar = await startTestSidecar({
        NYLAS_API_URI: upstream.url,
        SIDECAR_UPSTREAM_TIMEOUT_MS: '300',
      });
      const res = await fetch(`${sidecar.urls.proxy}/v3/grants/g/threads?fault=slow&ms=5000`);
      expect(res.status).toBe(504);
      expect(res.headers.get('x-nylas-sidecar-error')).toBe('upstream_timeout');
      const samples = await scrape(sidecar.urls.admin);
      expect(
        total(samples, 'nylas_api_requests_total', { code: '504', error_type: 'upstream_timeout' }),
      ).toBe(1);
    } finally {
      await upstream.close();
    }
  });

  it('retries idempotent requests on 503 when retries are on, and counts them', async () => {
    const upstream = await startFakeUpstream();
    try {
      sidecar = await startTestSidecar({ NYLAS_API_URI: upstream.url, SIDECAR_RETRY_MAX: '2' });
      const res = await fetch(`${sidecar.urls.proxy}/v3/grants/g/threads?fault=flaky&key=a&n=2`);
      expect(res.status).toBe(200);
      const exhausted = await fetch(
        `${sidecar.urls.proxy}/v3/grants/g/threads?fault=flaky&key=b&n=5`,
      );
      expect(exhausted.status).toBe(503);
      const samples = await scrape(sidecar.urls.admin);
      expect(
        total(samples, 'nylas_api_retries_total', {
          route: '/v3/grants/{grant_id}/threads',
          reason: '503',
        }),
      ).toBe(4);
      expect(
        total(samples, 'nylas_api_requests_total', {
          route: '/v3/grants/{grant_id}/threads',
          code: '200',
        }),
      ).toBe(1);
      // A POST is never retried.
      const send = await fetch(`${sidecar.urls.proxy}/v3/grants/g/threads?fault=flaky&key=c&n=1`, {
        method: 'POST',
        body: '{}',
      });
      expect(send.status).toBe(503);
    } finally {
      await upstream.close();
    }
  });

  it('keeps the upstream base path and adds the API key only when asked and absent', async () => {
    const upstream = await startFakeUpstream();
    try {
      sidecar = await startTestSidecar({
        NYLAS_API_URI: `${upstream.url}/base/`,
        SIDECAR_INJECT_API_KEY: 'true',
        NYLAS_API_KEY: 'injected-key',
      });
      await fetch(`${sidecar.urls.proxy}/v3/grants?limit=5`);
      expect(upstream.seen.at(-1)!.url).toBe('/base/v3/grants?limit=5');
      expect(upstream.seen.at(-1)!.headers.authorization).toBe('Bearer injected-key');
      await fetch(`${sidecar.urls.proxy}/v3/grants`, {
        headers: { authorization: 'Bearer app-key' },
      });
      expect(upstream.seen.at(-1)!.headers.authorization).toBe('Bearer app-key');
    } finally {
      await upstream.close();
    }
  });

  it('forwards a request body byte for byte', async () => {
    const upstream = await startFakeUpstream();
    try {
      sidecar = await startTestSidecar({ NYLAS_API_URI: upstream.url });
      const body = gzipSync(Buffer.from('x'.repeat(100_000)));
      const res = await fetch(`${sidecar.urls.proxy}/v3/grants/g/messages/send`, {
        method: 'POST',
        body,
      });
      const json = (await res.json()) as { data: { body_bytes: number } };
      expect(json.data.body_bytes).toBe(body.length);
    } finally {
      await upstream.close();
    }
  });
});
