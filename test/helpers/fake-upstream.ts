import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { writeBody } from './download.js';

/** One request the fake upstream saw. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  bodyBytes: number;
  bodySha256: string;
  aborted: boolean;
}

export interface FakeUpstream {
  url: string;
  /** Lets a gated download (`?gate=1`) send the rest of its body. */
  release(): void;
  seen: SeenRequest[];
  /** Requests still open (their responses not finished). */
  open(): number;
  close(): Promise<void>;
}

const json = (requestId: string, body: unknown) => ({
  status: 200,
  headers: { 'content-type': 'application/json', 'x-request-id': requestId },
  body: JSON.stringify(body),
});

/**
 * A small stand-in for the Nylas API with fixed answers per path, for proxy tests that need
 * exact bytes (the simulator covers realistic behaviour elsewhere).
 */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const flaky = new Map<string, number>();
  const gates: (() => void)[] = [];
  let open = 0;
  const server: Server = createServer((req, res) => {
    open++;
    res.on('close', () => open--);
    const hash = createHash('sha256');
    let bytes = 0;
    const rec: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyBytes: 0,
      bodySha256: '',
      aborted: false,
    };
    seen.push(rec);
    res.on('close', () => {
      if (!res.writableFinished) rec.aborted = true;
    });
    const early = /[?&]early=(\d{3})/.exec(req.url ?? '');
    if (early) {
      // Answers before reading the request body, as Nylas does with 401 or 429 on a large send;
      // `close=1` then closes the connection with the body still unread.
      const status = Number(early[1]);
      const body = JSON.stringify({
        request_id: `req-early-${status}`,
        error: {
          type: status === 429 ? 'rate_limit_error' : 'unauthorized',
          message: 'answered before the body was read',
        },
      });
      res.writeHead(status, {
        'content-type': 'application/json',
        'x-request-id': `req-early-${status}`,
        ...(/[?&]close=1/.test(req.url ?? '') ? { connection: 'close' } : {}),
      });
      res.end(body);
      return;
    }
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      rec.bodyBytes = bytes;
      rec.bodySha256 = hash.digest('hex');
      const url = new URL(req.url ?? '/', 'http://x');
      const p = url.pathname;
      const send = (r: {
        status: number;
        headers: Record<string, string>;
        body: string | Buffer;
      }) => {
        res.writeHead(r.status, r.headers);
        res.end(r.body);
      };
      if (p === '/v3/grants') {
        return send(
          json('req-grants', {
            request_id: 'req-grants',
            data: [
              { id: 'grant-1', provider: 'google', grant_status: 'valid', email: 'a@example.com' },
            ],
            limit: 10,
            offset: 0,
          }),
        );
      }
      if (/^\/v3\/grants\/[^/]+\/messages$/.test(p) && req.method === 'GET') {
        if (url.searchParams.get('page_token') === 'p2')
          return send(
            json('req-list-2', {
              request_id: 'req-list-2',
              data: [{ id: 'msg-2', object: 'message' }],
            }),
          );
        return send({
          status: 200,
          headers: {
            'content-type': 'application/json',
            'x-request-id': 'req-list-1',
            'nylas-provider-request-count': '2',
            'nylas-gmail-quota-usage': '5',
          },
          body: JSON.stringify({
            request_id: 'req-list-1',
            data: [{ id: 'msg-1', object: 'message' }],
            next_cursor: 'p2',
          }),
        });
      }
      if (/^\/v3\/grants\/[^/]+\/messages\/send$/.test(p)) {
        return send(
          json('req-send', {
            request_id: 'req-send',
            data: { id: 'sent-1', object: 'message', body_bytes: bytes, sha256: rec.bodySha256 },
          }),
        );
      }
      if (/^\/v3\/grants\/[^/]+\/messages\/missing$/.test(p)) {
        const body = {
          request_id: 'req-404',
          error: { type: 'not_found_error', message: 'requested object not found' },
        };
        return send({
          status: 404,
          headers: { 'content-type': 'application/json', 'x-request-id': 'req-404' },
          body: JSON.stringify(body),
        });
      }
      if (/^\/v3\/grants\/[^/]+\/messages\/[^/]+$/.test(p)) {
        return send(
          json('req-get', {
            request_id: 'req-get',
            data: { id: decodeURIComponent(p.split('/').pop()!), object: 'message' },
          }),
        );
      }
      if (/^\/v3\/grants\/[^/]+\/threads$/.test(p)) {
        const kind = url.searchParams.get('fault');
        if (kind === 'provider429') {
          const body = {
            request_id: 'req-429p',
            error: {
              type: 'rate_limit_error',
              message: 'Provider throttled',
              provider_error: { code: 'ApplicationThrottled' },
            },
          };
          return send({
            status: 429,
            headers: {
              'content-type': 'application/json',
              'x-request-id': 'req-429p',
              'retry-after': '1',
            },
            body: JSON.stringify(body),
          });
        }
        if (kind === 'nylas429') {
          const body = {
            request_id: 'req-429n',
            error: { type: 'nylas_rate_limit_exceeded', message: 'Too many requests' },
          };
          return send({
            status: 429,
            headers: { 'content-type': 'application/json', 'x-request-id': 'req-429n' },
            body: JSON.stringify(body),
          });
        }
        if (kind === 'html502') {
          return send({
            status: 502,
            headers: { 'content-type': 'text/html' },
            body: '<html><body><h1>502 Bad Gateway</h1>The upstream server is unavailable, please try again.</body></html>',
          });
        }
        if (kind === 'gzip404') {
          const body = gzipSync(
            JSON.stringify({
              request_id: 'req-gz',
              error: { type: 'api.not_found_error', message: 'x'.repeat(400) },
            }),
          );
          return send({
            status: 404,
            headers: {
              'content-type': 'application/json',
              'content-encoding': 'gzip',
              'x-request-id': 'req-gz',
            },
            body,
          });
        }
        if (kind === '401') {
          const body = {
            request_id: 'req-401',
            error: { type: 'unauthorized', message: 'Unauthorized' },
          };
          return send({
            status: 401,
            headers: { 'content-type': 'application/json', 'x-request-id': 'req-401' },
            body: JSON.stringify(body),
          });
        }
        if (kind === 'weird') {
          const body = {
            request_id: 'req-weird',
            error: { type: 'brand.new_error_type', message: 'x' },
          };
          return send({
            status: 500,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
        }
        if (kind === 'flaky') {
          // Fails `n` times per `key` with 503, then answers 200.
          const key = url.searchParams.get('key') ?? '';
          const n = Number(url.searchParams.get('n') ?? 1);
          const seenSoFar = (flaky.get(key) ?? 0) + 1;
          flaky.set(key, seenSoFar);
          if (seenSoFar <= n) {
            const body = {
              request_id: `req-503-${seenSoFar}`,
              error: { type: 'api.internal_error', message: 'busy' },
            };
            return send({
              status: 503,
              headers: { 'content-type': 'application/json', 'retry-after': '0' },
              body: JSON.stringify(body),
            });
          }
          return send(json('req-flaky-ok', { request_id: 'req-flaky-ok', data: [] }));
        }
        if (kind === 'reset') {
          req.socket.destroy();
          return;
        }
        if (kind === 'slow') {
          const t = setTimeout(
            () => send(json('req-slow', { request_id: 'req-slow', data: [] })),
            Number(url.searchParams.get('ms') ?? 500),
          );
          res.on('close', () => clearTimeout(t));
          return;
        }
        if (kind === 'gzip') {
          const payload = JSON.stringify({
            request_id: 'req-gzip',
            data: Array.from({ length: 50 }, (_, i) => ({ id: `t${i}` })),
          });
          return send({
            status: 200,
            headers: {
              'content-type': 'application/json',
              'content-encoding': 'gzip',
              'x-request-id': 'req-gzip',
            },
            body: gzipSync(payload),
          });
        }
        return send(json('req-threads', { request_id: 'req-threads', data: [] }));
      }
      if (/^\/v3\/grants\/[^/]+\/attachments\/[^/]+\/download$/.test(p)) {
        // A large binary body written in 64 KB chunks with backpressure, never held whole.
        const size = Number(url.searchParams.get('size') ?? 1024);
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(size),
          'x-request-id': 'req-dl',
        });
        const chunk = Buffer.alloc(64 * 1024, 7);
        const trickle = Number(url.searchParams.get('trickle') ?? 0);
        if (trickle > 0) {
          // 1 KB every `trickle` ms: a download that keeps moving, slowly, holding its connection.
          let left = size;
          const timer = setInterval(() => {
            const n = Math.min(left, 1024);
            left -= n;
            res.write(chunk.subarray(0, n));
            if (left === 0) {
              clearInterval(timer);
              res.end();
            }
          }, trickle);
          res.on('close', () => clearInterval(timer));
          return;
        }
        if (url.searchParams.get('gate') === '1') {
          // One chunk now, the rest once the test calls release(): proves the proxy streams.
          res.write(chunk);
          gates.push(() => writeBody(res, size - chunk.length, chunk));
          return;
        }
        return writeBody(res, size, chunk);
      }
      if (p === '/echo' || p.startsWith('/base/')) {
        return send(
          json('req-echo', {
            request_id: 'req-echo',
            data: { url: req.url, headers: req.headers },
          }),
        );
      }
      const body = {
        request_id: 'req-nf',
        error: { type: 'not_found_error', message: 'no such path' },
      };
      return send({
        status: 404,
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-nf' },
        body: JSON.stringify(body),
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    release: () => {
      for (const g of gates.splice(0)) g();
    },
    seen,
    open: () => open,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
