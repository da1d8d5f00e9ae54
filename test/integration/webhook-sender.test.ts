import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookSender, makeEvent } from '../../src/simulator/webhook-sender.js';
import { knownTriggers } from '../../src/webhooks/index.js';

interface Hit {
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

/** An endpoint on 127.0.0.1 that records raw requests; `answer` decides each response. */
async function endpoint(answer: (hit: Hit, n: number, res: ServerResponse) => void) {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      hits.push(hit);
      answer(hit, hits.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits };
}

const hmacHex = (secret: string, body: Buffer) =>
  createHmac('sha256', secret).update(body).digest('hex');

describe('simulator webhook sender', () => {
  it('signs the exact body bytes with hex HMAC-SHA256 of the secret, as Nylas does', async () => {
    const ep = await endpoint((_h, _n, res) => res.writeHead(200).end());
    const sender = createWebhookSender({ secret: 'whsec-abc' });
    const event = makeEvent('message.created');
    const r = await sender.deliver(ep.url, event);
    expect(r.delivered).toBe(true);
    const hit = ep.hits[0]!;
    expect(hit.headers['x-nylas-signature']).toBe(hmacHex('whsec-abc', hit.body));
    expect(hit.headers['x-nylas-signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(hit.body.toString())).toEqual({ ...event, webhook_delivery_attempt: 1 });
  });

  it('signs the gzip bytes of a compressed delivery and marks it Content-Encoding: gzip', async () => {
    const ep = await endpoint((_h, _n, res) => res.writeHead(200).end());
    const sender = createWebhookSender({ secret: 'whsec-gz' });
    const event = makeEvent('event.created');
    await sender.deliver(ep.url, event, { compress: true });
    const hit = ep.hits[0]!;
    expect(hit.headers['content-encoding']).toBe('gzip');
    expect(hit.headers['x-nylas-signature']).toBe(hmacHex('whsec-gz', hit.body));
    expect(JSON.parse(gunzipSync(hit.body).toString()).id).toBe(event.id);
  });

  it('retries a failed delivery up to 3 attempts in all, counting webhook_delivery_attempt up', async () => {
    const ep = await endpoint((_h, n, res) => res.writeHead(n < 3 ? 503 : 200).end());
    const waits: number[] = [];
    const sender = createWebhookSender({
      secret: 's',
      backoffMs: (n) => {
        waits.push(n);
        return 0;
      },
    });
    const event = makeEvent('grant.expired');
    const r = await sender.deliver(ep.url, event);
    expect(r.delivered).toBe(true);
    expect(r.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ]);
    expect(waits).toEqual([1, 2]);
    const bodies = ep.hits.map((h) => JSON.parse(h.body.toString()));
    expect(bodies.map((b) => b.webhook_delivery_attempt)).toEqual([1, 2, 3]);
    expect(new Set(bodies.map((b) => b.id))).toEqual(new Set([event.id]));
    // Each attempt's body differs, so each carries its own signature.
    for (const h of ep.hits) expect(h.headers['x-nylas-signature']).toBe(hmacHex('s', h.body));
  });

  it('gives up after the last attempt and reports a timeout when the endpoint never answers', async () => {
    const ep = await endpoint(() => undefined);
    const sender = createWebhookSender({ secret: 's', timeoutMs: 100, backoffMs: () => 0 });
    const r = await sender.deliver(ep.url, makeEvent('message.updated'), { maxAttempts: 2 });
    expect(r.delivered).toBe(false);
    expect(r.attempts).toMatchObject([
      { attempt: 1, status: undefined, error: 'timeout' },
      { attempt: 2, status: undefined, error: 'timeout' },
    ]);
  });

  it('reports a connection error when nothing listens', async () => {
    const ep = await endpoint((_h, _n, res) => res.end());
    await closers.pop()!();
    const r = await createWebhookSender({ secret: 's', backoffMs: () => 0 }).deliver(
      ep.url,
      makeEvent('message.updated'),
      { maxAttempts: 1 },
    );
    expect(r).toMatchObject({
      delivered: false,
      attempts: [{ status: undefined, error: 'ECONNREFUSED' }],
    });
  });

  it('checks that a challenge is echoed exactly', async () => {
    const echo = await endpoint((h, _n, res) =>
      res.writeHead(200).end(new URL(h.url, 'http://x').searchParams.get('challenge')),
    );
    const wrong = await endpoint((_h, _n, res) => res.writeHead(200).end('"quoted"'));
    const sender = createWebhookSender({ secret: 's' });
    const ok = await sender.challenge(echo.url);
    const bad = await sender.challenge(wrong.url);
    expect(ok).toMatchObject({ ok: true, status: 200 });
    expect(ok.body).toBe(ok.challenge);
    expect(bad).toMatchObject({ ok: false, status: 200 });
  });

  it('builds a sample event for every known trigger with the time from its clock', () => {
    for (const trigger of knownTriggers()) {
      const e = makeEvent(trigger, { now: () => 1_739_223_251_500 });
      expect(e).toMatchObject({
        specversion: '1.0',
        type: trigger,
        time: 1_739_223_251,
        webhook_delivery_attempt: 1,
      });
      expect(e.source).toMatch(/^\//);
      expect(typeof e.id).toBe('string');
      expect(e.data.application_id).toBeTruthy();
      expect(Object.keys(e.data.object).length).toBeGreaterThan(0);
    }
    expect(makeEvent('grant.expired').data.object).toMatchObject({ code: 25009 });
  });
});
