import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { Agent, request } from 'node:http';
import { NylasApiError } from 'nylas';
import { Nylas } from '../../src/demo/nylas-sdk.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { scrape, total } from '../helpers/metrics.js';

/** An upstream that answers every request with these exact bytes (a status line Node would refuse to write). */
async function startRawUpstream(answer: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createTcpServer((sock) => {
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      // One answer per request head (no bodies in these tests).
      while (buf.includes('\r\n\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        sock.write(answer);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface Answer {
  status: number;
  statusMessage: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  reusedSocket: boolean;
}

/** One request with node:http through `agent`. */
function send(
  url: string,
  agent: Agent,
  opts: { method?: string; body?: Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent,
        method: opts.method ?? 'GET',
        headers: opts.body ? { 'content-length': String(opts.body.length) } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          const answer = {
            status: res.statusCode!,
            statusMessage: res.statusMessage ?? '',
            headers: res.headers,
            body,
            reusedSocket: req.reusedSocket,
          };
          if (req.writableFinished) return resolve(answer);
          // The answer came before the app finished sending: the rest of the body must still go
          // through (the reported failure: stuck for the proxy's ~6 s keep-alive timeout, then
          // reset). 3 s is far more than 4 MB needs on loopback.
          const stalled = setTimeout(
            () => reject(new Error('request body stalled after the answer')),
            3000,
          );
          req.once('finish', () => {
            clearTimeout(stalled);
            resolve(answer);
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // One write: a node:http client stops forwarding 'drain' once the response has ended, so a
    // chunked writer would stall on its own side.
    req.end(opts.body);
  });
}

describe('an upstream status line with a UTF-8 reason phrase', () => {
  const body = JSON.stringify({
    request_id: 'req-utf8',
    error: { type: 'api.internal_error', message: 'unavailable' },
  });
  let upstream: Awaited<ReturnType<typeof startRawUpstream>>;
  let sidecar: TestSidecar;
  beforeAll(async () => {
    upstream = await startRawUpstream(
      Buffer.concat([
        Buffer.from('HTTP/1.1 503 ', 'latin1'),
        Buffer.from('Сервис недоступен', 'utf8'),
        Buffer.from(
          `\r\ncontent-type: application/json\r\nx-request-id: req-utf8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          'latin1',
        ),
      ]),
    );
    sidecar = await startTestSidecar({ NYLAS_API_URI: upstream.url });
  });
  afterAll(async () => {
    await sidecar?.stop();
    await upstream?.close();
  });

  it('passes the status and body through with a safe reason phrase, and counts the 503', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const res = await send(`${sidecar.urls.proxy}/v3/grants/g/threads`, agent);
      expect(res.status).toBe(503);
      expect(res.statusMessage).toBe('Service Unavailable');
      expect(res.headers['x-request-id']).toBe('req-utf8');
      expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'api.internal_error' } });
      // The connection stays usable.
      const again = await send(`${sidecar.urls.proxy}/v3/grants/g/threads`, agent);
      expect(again.status).toBe(503);
      expect(again.reusedSocket).toBe(true);
    } finally {
      agent.destroy();
    }
    const samples = await scrape(sidecar.urls.admin);
    expect(
      total(samples, 'nylas_api_requests_total', {
        route: '/v3/grants/{grant_id}/threads',
        code: '503',
        error_type: 'api.internal_error',
      }),
    ).toBe(2);
    expect(total(samples, 'nylas_api_requests_total', { error_type: 'upstream_unavailable' })).toBe(
      0,
    );
  });
});

describe('an upstream that answers a large POST before reading its body', () => {
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

  const MB4 = Buffer.alloc(4 * 1024 * 1024, 9);

  for (const [status, close] of [
    [401, false],
    [429, false],
    [401, true],
    [429, true],
  ] as const) {
    it(`takes the rest of a 4 MB body after an early ${status}, then serves the app's next request at once${close ? ' and a closed upstream connection' : ''}`, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let round = 0; round < 3; round++) {
          const early = await send(
            `${sidecar.urls.proxy}/v3/grants/g/messages/send?early=${status}${close ? '&close=1' : ''}`,
            agent,
            { method: 'POST', body: MB4 },
          );
          if (close && early.status === 502) {
            // An upstream that closes with the body unread resets the connection, and the reset
            // may reach undici before the answer does: then the sidecar's own 502 is the truth.
            expect(early.headers['x-nylas-sidecar-error']).toBe('upstream_unavailable');
          } else {
            expect(early.status).toBe(status);
            expect(JSON.parse(early.body)).toMatchObject({ request_id: `req-early-${status}` });
          }
          const next = await send(`${sidecar.urls.proxy}/v3/grants`, agent);
          expect(next.status).toBe(200);
          expect(next.body).toContain('grant-1');
        }
      } finally {
        agent.destroy();
      }
    });
  }

  it('lets the Nylas SDK send a 4 MB attachment into an early 429 and carry on at once', async () => {
    // A 3 s SDK timeout turns a stalled connection into a failure.
    const nylas = new Nylas({ apiKey: 'k', apiUri: sidecar.urls.proxy, timeout: 3 });
    for (let round = 0; round < 5; round++) {
      const err = await nylas.messages
        .send({
          identifier: 'g',
          queryParams: { early: '429' } as never,
          requestBody: {
            to: [{ email: 'b@example.com' }],
            subject: 'big',
            body: 'see attachment',
            attachments: [
              {
                filename: 'big.bin',
                contentType: 'application/octet-stream',
                size: MB4.length,
                content: MB4,
              },
            ],
          },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(NylasApiError);
      expect((err as NylasApiError).statusCode).toBe(429);
      const grants = await nylas.grants.list();
      expect(grants.data[0]?.id).toBe('grant-1');
    }
    const samples = await scrape(sidecar.urls.admin);
    expect(
      total(samples, 'nylas_api_requests_total', {
        route: '/v3/grants/{grant_id}/messages/send',
        code: '429',
      }),
    ).toBeGreaterThanOrEqual(5);
  });
});
