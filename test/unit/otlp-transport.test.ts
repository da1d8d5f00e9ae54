import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { trace } from '@opentelemetry/api';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import {
  MAX_RESPONSE_BODY_BYTES,
  RetryingTransport,
  UndiciOtlpTransport,
} from '../../src/tracing/otlp-transport.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const servers: { close(): void; closeAllConnections(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
  vi.unstubAllEnvs();
  // Each createTracing registers the SDK's tracer provider globally; the next must be able to.
  trace.disable();
});

/** A receiver that records each request and answers it with `answer`. */
async function receiver(answer: (req: Received, res: ServerResponse) => void) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const r = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      received.push(r);
      answer(r, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { received, port, base: `http://127.0.0.1:${port}` };
}

function transport(
  url: string,
  opts: Partial<{ headers: Record<string, string>; gzip: boolean }> = {},
) {
  return new UndiciOtlpTransport({
    url,
    headers: () =>
      Promise.resolve({ 'Content-Type': 'application/x-protobuf', ...(opts.headers ?? {}) }),
    compression: opts.gzip ? 'gzip' : 'none',
    userAgent: 'nylas-sidecar/test',
  });
}

/** The `code` of a response's error (a system or undici error code). */
function errorCode(r: ExportResponse): unknown {
  const error: (Error & { code?: unknown }) | undefined = 'error' in r ? r.error : undefined;
  return error?.code;
}

const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));

describe('UndiciOtlpTransport', () => {
  it('posts the bytes to the endpoint with its headers, user agent and basic authentication', async () => {
    const r = await receiver((_, res) => res.writeHead(200).end('ok'));
    const t = transport(`http://otel:p%40ss@127.0.0.1:${r.port}/v1/traces?tenant=a`, {
      headers: { 'X-Scope': 'team-a' },
    });
    const out = await t.send(bytes, 5000);
    expect(out.status).toBe('success');
    expect(Buffer.from((out as { data: Uint8Array }).data).toString()).toBe('ok');
    expect(r.received).toHaveLength(1);
    const got = r.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/v1/traces?tenant=a');
    expect(got.body.equals(bytes)).toBe(true);
    expect(got.headers['content-type']).toBe('application/x-protobuf');
    expect(got.headers['x-scope']).toBe('team-a');
    expect(got.headers['user-agent']).toBe('nylas-sidecar/test');
    expect(got.headers.authorization).toBe(`Basic ${Buffer.from('otel:p@ss').toString('base64')}`);
    // A configured authorization header wins over the URL's user and password.
    await transport(`http://otel:pw@127.0.0.1:${r.port}/v1/traces`, {
      headers: { Authorization: 'Bearer abc' },
    }).send(bytes, 5000);
    expect(r.received[1]!.headers.authorization).toBe('Bearer abc');
    // A malformed escape in the user is sent as written, not thrown at start-up.
    await transport(`http://us%zz:pw@127.0.0.1:${r.port}/v1/traces`).send(bytes, 5000);
    expect(r.received[2]!.headers.authorization).toBe(
      `Basic ${Buffer.from('us%zz:pw').toString('base64')}`,
    );
    t.shutdown();
  });

  it('compresses with gzip when asked', async () => {
    const r = await receiver((_, res) => res.writeHead(200).end());
    const out = await transport(`${r.base}/v1/traces`, { gzip: true }).send(bytes, 5000);
    expect(out.status).toBe('success');
    expect(r.received[0]!.headers['content-encoding']).toBe('gzip');
    expect(r.received[0]!.body.length).toBeLessThan(bytes.length);
    expect(gunzipSync(r.received[0]!.body).equals(bytes)).toBe(true);
  });

  it('answers 429, 502, 503 and 504 as retryable, after Retry-After when given', async () => {
    const answers: [number, Record<string, string>][] = [
      [503, { 'retry-after': '2' }],
      [429, {}],
      [502, { 'retry-after': '0' }],
      [504, {}],
    ];
    let i = 0;
    const r = await receiver((_, res) => {
      const [status, headers] = answers[i++]!;
      res.writeHead(status, headers).end('busy');
    });
    const t = transport(`${r.base}/v1/traces`);
    const outs: ExportResponse[] = [];
    for (let n = 0; n < answers.length; n++) outs.push(await t.send(bytes, 5000));
    expect(outs).toEqual([
      { status: 'retryable', retryInMillis: 2000 },
      { status: 'retryable', retryInMillis: undefined },
      { status: 'retryable', retryInMillis: 0 },
      { status: 'retryable', retryInMillis: undefined },
    ]);
  });

  it('answers any other status as a failure, with its code and reason', async () => {
    const r = await receiver((_, res) => res.writeHead(400).end('bad spans'));
    const out = await transport(`${r.base}/v1/traces`, {
      headers: { authorization: 'Bearer CANARY-otlp' },
    }).send(bytes, 5000);
    expect(out.status).toBe('failure');
    const error = (out as { error: Error & { code?: number; data?: string } }).error;
    expect(error.message).toBe('Bad Request');
    expect(error.code).toBe(400);
    expect(error.data).toBe('bad spans');
    expect(JSON.stringify({ message: error.message, stack: error.stack })).not.toMatch(/CANARY/);
  });

  it('answers a network error as retryable: refused, and closed without an answer', async () => {
    const r = await receiver((_, res) => res.socket?.destroy());
    const closed = await transport(`${r.base}/v1/traces`).send(bytes, 5000);
    expect(closed.status).toBe('retryable');
    expect(errorCode(closed)).toMatch(/UND_ERR_SOCKET|ECONNRESET/);
    // A port nobody listens on: the receiver's, once closed.
    const gone = await receiver((_, res) => res.end());
    const port = gone.port;
    servers.pop()!.close();
    const refused = await transport(`http://127.0.0.1:${port}/v1/traces`).send(bytes, 5000);
    expect(refused.status).toBe('retryable');
    expect(errorCode(refused)).toBe('ECONNREFUSED');
  });

  it('gives up on a receiver that does not answer within the timeout, as retryable', async () => {
    const r = await receiver(() => undefined);
    const out = await transport(`${r.base}/v1/traces`).send(bytes, 300);
    expect(out.status).toBe('retryable');
    expect(errorCode(out)).toBe('UND_ERR_HEADERS_TIMEOUT');
  });

  it('gives up on a receiver that trickles its answer past the timeout, as retryable', async () => {
    // Headers at once, then a byte every 50 ms for 3 s: never silent for as long as undici's
    // body timeout, so only a bound on the whole body ends it.
    let closedEarly = false;
    const r = await receiver((_, res) => {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      let sent = 0;
      const tick = setInterval(() => {
        if (++sent === 60) {
          clearInterval(tick);
          res.end();
        } else res.write('x');
      }, 50);
      res.on('close', () => {
        if (sent < 60) closedEarly = true;
        clearInterval(tick);
      });
    });
    const out = await transport(`${r.base}/v1/traces`).send(bytes, 400);
    expect(out.status).toBe('retryable');
    expect((out as { error: Error }).error.message).toMatch(/not read within the export timeout/);
    await vi.waitFor(() => expect(closedEarly).toBe(true));
  });

  it('stops reading a response body over 4 MB and fails the export', async () => {
    const r = await receiver((_, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(256 * 1024, 120);
      let sent = 0;
      const more = () => {
        while (sent <= MAX_RESPONSE_BODY_BYTES) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
      res.on('error', () => undefined);
    });
    const out = await transport(`${r.base}/v1/traces`).send(bytes, 5000);
    expect(out.status).toBe('failure');
    expect((out as { error: Error }).error.message).toMatch(/exceeded size limit/);
  });

  it('takes only http: endpoints', () => {
    expect(() => transport('https://127.0.0.1:4318/v1/traces')).toThrow(/not an http: URL/);
  });
});

describe('RetryingTransport', () => {
  /** A transport that gives the answers in order and records the timeouts it was given. */
  function scripted(answers: ExportResponse[]) {
    const timeouts: number[] = [];
    let shutdowns = 0;
    const inner: IExporterTransport = {
      send: (_data, timeout) => {
        timeouts.push(timeout);
        return Promise.resolve(answers.shift() ?? { status: 'success' });
      },
      shutdown: () => void shutdowns++,
    };
    const waits: number[] = [];
    const retrying = new RetryingTransport(inner, (ms) => {
      waits.push(ms);
      return Promise.resolve();
    });
    return { retrying, timeouts, waits, shutdowns: () => shutdowns };
  }

  it('retries a retryable answer with growing waits, or after Retry-After, until it succeeds', async () => {
    const s = scripted([
      { status: 'retryable' },
      { status: 'retryable' },
      { status: 'retryable', retryInMillis: 1500 },
      { status: 'success' },
    ]);
    expect(await s.retrying.send(bytes, 60_000)).toEqual({ status: 'success' });
    expect(s.timeouts).toHaveLength(4);
    expect(s.waits).toHaveLength(3);
    expect(s.waits[0]).toBeGreaterThanOrEqual(800);
    expect(s.waits[0]).toBeLessThanOrEqual(1200);
    expect(s.waits[1]).toBeGreaterThanOrEqual(1200);
    expect(s.waits[1]).toBeLessThanOrEqual(1800);
    expect(s.waits[2]).toBe(1500);
    s.retrying.shutdown();
    expect(s.shutdowns()).toBe(1);
  });

  it('makes at most five more attempts, and does not retry a failure', async () => {
    const s = scripted(Array.from({ length: 10 }, () => ({ status: 'retryable' as const })));
    expect((await s.retrying.send(bytes, 600_000)).status).toBe('retryable');
    expect(s.timeouts).toHaveLength(6);
    const f = scripted([{ status: 'failure', error: new Error('400') }]);
    expect((await f.retrying.send(bytes, 60_000)).status).toBe('failure');
    expect(f.timeouts).toHaveLength(1);
  });

  it('does not wait past the export timeout', async () => {
    const s = scripted([{ status: 'retryable', retryInMillis: 10_000 }]);
    expect((await s.retrying.send(bytes, 2000)).status).toBe('retryable');
    expect(s.waits).toEqual([]);
    expect(s.timeouts).toEqual([2000]);
  });
});

describe('createTracing over an http: endpoint', () => {
  it("sends the proxy's and the SDK's spans through undici with the OTLP settings, retrying a busy receiver", async () => {
    const { createTracing } = await import('../../src/tracing/setup.js');
    const { decodeOtlpProto } = await import('../helpers/otlp-proto.js');
    let busy = 1;
    const r = await receiver((_, res) => {
      if (busy-- > 0) res.writeHead(503, { 'retry-after': '0' }).end();
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: r.base,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=team-a',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    };
    // The library's configuration reads the process's environment, as in the sidecar.
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    const tracing = await createTracing({ env, version: '9.9.9' });
    const spans = tracing.proxySpans({ address: '127.0.0.1', port: 1 })!;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      spans.end(spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!, t0 + 1);
    }
    tracing.tracer.startSpan('grants.poll').end();
    await tracing.shutdown();
    const names = r.received
      .filter((x) => x.url === '/v1/traces')
      .flatMap((x) => {
        expect(x.headers['content-encoding']).toBe('gzip');
        expect(x.headers['x-tenant']).toBe('team-a');
        expect(x.headers['user-agent']).toMatch(/^nylas-sidecar\/9\.9\.9 /);
        const doc = decodeOtlpProto(gunzipSync(x.body)) as {
          resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[];
        };
        return doc.resourceSpans.flatMap((rs) =>
          rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)),
        );
      });
    // The first request was answered 503 and sent again: it is received twice.
    const unique = [...new Set(names)].sort();
    expect(unique).toEqual(['GET /v3/grants', 'grants.poll']);
    expect(names.filter((n) => n === 'GET /v3/grants').length).toBeGreaterThanOrEqual(3);
    expect(r.received.length).toBeGreaterThanOrEqual(3);
  });
});

describe('createTracing over an https: endpoint', () => {
  it("keeps the library's transport, which trusts OTEL_EXPORTER_OTLP_CERTIFICATE", async () => {
    const { createServer: createHttpsServer } = await import('node:https');
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const { createTracing } = await import('../../src/tracing/setup.js');
    const dir = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
    const agents: string[] = [];
    const server = createHttpsServer(
      {
        cert: readFileSync(`${dir}otlp-receiver.crt`),
        key: readFileSync(`${dir}otlp-receiver.key`),
      },
      (req, res) => {
        agents.push(String(req.headers['user-agent']));
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
      },
    );
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      OTEL_EXPORTER_OTLP_CERTIFICATE: `${dir}otlp-receiver.crt`,
    };
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    const tracing = await createTracing({ env, version: '9.9.9' });
    const spans = tracing.proxySpans({ address: '127.0.0.1', port: 1 })!;
    const t0 = performance.now();
    spans.end(spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!, t0 + 1);
    tracing.tracer.startSpan('grants.poll').end();
    await tracing.shutdown();
    expect(agents).toHaveLength(2);
    for (const a of agents) expect(a).toMatch(/^OTel-OTLP-Exporter-JavaScript\//);
  });
});
