import { createHmac } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { SpanKind, trace, type Tracer } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/index.js';
import { createWebhookSender, makeEvent } from '../../src/simulator/webhook-sender.js';
import { createWebhookListener, type WebhookListenerOptions } from '../../src/webhooks/index.js';
import { parseMetrics, series, total, type Sample } from '../helpers/metrics.js';
import { TEST_ENV } from '../helpers/sidecar.js';

// ---- harness: a fake app endpoint and a listener in front of it, all on 127.0.0.1 port 0 ----

interface Received {
  method: string;
  url: string;
  rawHeaders: string[];
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface App {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

type AppHandler = (r: Received) => {
  status: number;
  body?: string;
  delayMs?: number;
  headers?: Record<string, string>;
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startApp(handler: AppHandler = () => ({ status: 200, body: 'ok' })): Promise<App> {
  const received: Received[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      received.push(r);
      const a = handler(r);
      const send = () => {
        timers.delete(t);
        if (res.destroyed) return;
        res.writeHead(a.status, { 'x-app': 'yes', ...a.headers });
        res.end(a.body ?? '');
      };
      const t = setTimeout(send, a.delayMs ?? 0);
      timers.add(t);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const app: App = {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  cleanups.push(() => app.close());
  return app;
}

interface Harness {
  url: string;
  logs: string[];
  metrics(): Promise<Sample[]>;
  stop(graceMs?: number): Promise<void>;
}

async function startListener(
  app: App,
  env: Record<string, string> = {},
  options: WebhookListenerOptions = {},
  tracer: Tracer = trace.getTracer('test'),
): Promise<Harness> {
  const config = loadConfig({
    env: {
      ...TEST_ENV,
      SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
      SIDECAR_WEBHOOK_FORWARD_URL: `${app.url}/hooks/nylas?via=sidecar`,
      NYLAS_WEBHOOK_SECRET: SECRET,
      ...env,
    },
  });
  const metrics = createMetrics({
    latencyBuckets: config.proxy.latencyBuckets,
    version: 'test',
    defaultMetrics: false,
  });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
      cb();
    },
  });
  const listener = createWebhookListener({
    config,
    metrics,
    logger: createLogger({ level: 'debug', destination }),
    tracer,
    options,
  });
  const addr = await listener.start();
  let stopped = false;
  const stop = async (graceMs = 2000) => {
    if (stopped) return;
    stopped = true;
    await listener.stop(graceMs);
  };
  cleanups.push(() => stop());
  return {
    url: `http://127.0.0.1:${addr.port}`,
    logs,
    metrics: async () => parseMetrics(await metrics.registry.metrics()),
    stop,
  };
}

const SECRET = 'whsec-test-secret-1';
const NOTIFICATIONS = 'nylas_webhook_notifications_total';

/** A raw HTTP request with node:http (fetch hides early answers and refuses some bodies). */
function rawPost(
  url: string,
  opts: { headers?: Record<string, string | number>; chunks: Buffer[] },
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts).toString(),
        }),
      );
      res.on('error', reject);
    });
    // Writing on after the listener has answered and closed may fail: the answer is what counts.
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
    for (const c of opts.chunks) req.write(c);
    req.end();
  });
}

// ---- tests ----

describe('webhook listener: forwarding', () => {
  it('forwards signed notifications to the app with identical bytes and headers and counts them by trigger', async () => {
    const app = await startApp(() => ({
      status: 200,
      body: 'thanks',
      headers: { 'x-app-note': 'seen' },
    }));
    const l = await startListener(app);
    const sender = createWebhookSender({ secret: SECRET, backoffMs: () => 0 });
    const events = [
      makeEvent('message.created'),
      makeEvent('grant.expired'),
      makeEvent('message.created'),
    ];

    for (const e of events) {
      const r = await sender.deliver(`${l.url}/any/path?from=nylas`, e);
      expect(r).toMatchObject({ delivered: true, attempts: [{ attempt: 1, status: 200 }] });
    }

    expect(app.received).toHaveLength(3);
    for (const [i, e] of events.entries()) {
      const sent = sender.encode(e, { attempt: 1 });
      const got = app.received[i]!;
      expect(got.method).toBe('POST');
      // The forward URL's path and query, with the delivery's own query after it.
      expect(got.url).toBe('/hooks/nylas?via=sidecar&from=nylas');
      expect(got.body.equals(sent.body)).toBe(true);
      expect(got.headers['x-nylas-signature']).toBe(sent.headers['x-nylas-signature']);
      expect(got.headers['content-type']).toBe('application/json');
      expect(got.headers['content-length']).toBe(String(sent.body.length));
    }

    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'message.created', outcome: 'forwarded' })).toBe(2);
    expect(total(m, NOTIFICATIONS, { trigger: 'grant.expired', outcome: 'forwarded' })).toBe(1);
    expect(
      total(m, 'nylas_webhook_delivery_attempts_total', {
        trigger: 'message.created',
        attempt: '1',
      }),
    ).toBe(2);
    // Lag is not by trigger (a histogram per trigger was most of a listener's series).
    expect(series(m, 'nylas_webhook_delivery_lag_seconds_count')).toEqual([
      expect.objectContaining({ labels: {}, value: 3 }),
    ]);
    expect(total(m, 'nylas_webhook_forward_duration_seconds_count', { status_class: '2xx' })).toBe(
      3,
    );
    const last = series(m, 'nylas_webhook_last_notification_timestamp_seconds', {
      trigger: 'grant.expired',
    });
    expect(last[0]!.value).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it("passes the app's status, headers and body back to Nylas", async () => {
    const app = await startApp(() => ({
      status: 202,
      body: 'queued',
      headers: { 'x-app-note': 'seen' },
    }));
    const l = await startListener(app);
    const sender = createWebhookSender({ secret: SECRET });
    const d = sender.encode(makeEvent('event.updated'));
    const res = await fetch(l.url, { method: 'POST', headers: d.headers, body: d.body });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-app-note')).toBe('seen');
    expect(await res.text()).toBe('queued');
  });

  it('measures delivery lag from the CloudEvent time and counts retries by attempt', async () => {
    const app = await startApp();
    const l = await startListener(app);
    const sender = createWebhookSender({ secret: SECRET });
    const event = makeEvent('grant.updated', { time: Math.floor(Date.now() / 1000) - 400 });
    await sender.deliver(l.url, event, { attempt: 2, maxAttempts: 1 });

    const m = await l.metrics();
    const lag = {};
    // 400 s old: above the 300 s bucket, within the 600 s one.
    expect(total(m, 'nylas_webhook_delivery_lag_seconds_bucket', { ...lag, le: '300' })).toBe(0);
    expect(total(m, 'nylas_webhook_delivery_lag_seconds_bucket', { ...lag, le: '600' })).toBe(1);
    expect(
      total(m, 'nylas_webhook_delivery_attempts_total', { trigger: 'grant.updated', attempt: '2' }),
    ).toBe(1);
  });

  it('labels unknown trigger types "other" and keeps delivery-only variants', async () => {
    const app = await startApp();
    const l = await startListener(app);
    const sender = createWebhookSender({ secret: SECRET });
    await sender.deliver(l.url, makeEvent('message.created.truncated'));
    await sender.deliver(l.url, makeEvent('made.up.trigger'));
    const m = await l.metrics();
    expect(
      total(m, NOTIFICATIONS, { trigger: 'message.created.truncated', outcome: 'forwarded' }),
    ).toBe(1);
    expect(total(m, NOTIFICATIONS, { trigger: 'other', outcome: 'forwarded' })).toBe(1);
    expect(series(m, NOTIFICATIONS, { trigger: 'made.up.trigger' })).toHaveLength(0);
  });

  it('forwards many concurrent deliveries, each once, without a listener-leak warning', async () => {
    const app = await startApp(() => ({ status: 200, delayMs: 20 }));
    const l = await startListener(app);
    const sender = createWebhookSender({ secret: SECRET, backoffMs: () => 0 });
    const events = Array.from({ length: 60 }, (_, i) =>
      makeEvent(i % 2 ? 'message.updated' : 'event.created'),
    );
    // Each forward in flight listens for the shutdown: 60 at once is normal, not a leak, and
    // Node must not print "Possible EventTarget memory leak detected" on the sidecar's stderr.
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const results = await Promise.all(
      events.map((e) => sender.deliver(l.url, e, { maxAttempts: 1 })),
    ).finally(() => process.off('warning', onWarning));
    expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    expect(results.every((r) => r.delivered)).toBe(true);
    expect(new Set(app.received.map((r) => JSON.parse(r.body.toString()).id)).size).toBe(60);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { outcome: 'forwarded' })).toBe(60);
  });
});

describe('webhook listener: streaming', () => {
  it('streams the body to the app as it arrives in observe mode', async () => {
    let firstBytesAt: number | undefined;
    const app = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        firstBytesAt ??= chunks.length;
        chunks.push(c);
      });
      req.on('end', () => res.writeHead(200).end(String(Buffer.concat(chunks).length)));
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          app.closeAllConnections();
          app.close(() => resolve());
        }),
    );
    const appInfo: App = {
      url: `http://127.0.0.1:${(app.address() as AddressInfo).port}`,
      received: [],
      close: () => Promise.resolve(),
    };
    const l = await startListener(appInfo, { SIDECAR_WEBHOOK_VERIFY: 'observe' });
    const d = createWebhookSender({ secret: SECRET }).encode(makeEvent('message.created'));
    const half = Math.floor(d.body.length / 2);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(l.url, { method: 'POST', headers: d.headers }, (r) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.write(d.body.subarray(0, half));
      // The rest is sent only once the app has seen the first half: a buffering listener hangs here.
      const wait = setInterval(() => {
        if (firstBytesAt === undefined) return;
        clearInterval(wait);
        req.end(d.body.subarray(half));
      }, 10);
    });
    expect(res).toEqual({ status: 200, body: String(d.body.length) });
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'message.created', outcome: 'forwarded' })).toBe(1);
  });
});

describe('webhook listener: signatures', () => {
  it('rejects a forged signature with 401 in enforce mode and does not forward it', async () => {
    const app = await startApp();
    const l = await startListener(app);
    const forger = createWebhookSender({ secret: 'not-the-secret' });
    const r = await forger.deliver(l.url, makeEvent('message.created'), { maxAttempts: 1 });
    expect(r.attempts[0]!.status).toBe(401);
    expect(app.received).toHaveLength(0);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'message.created', outcome: 'bad_signature' })).toBe(
      1,
    );
    // A forged body moves no delivery series.
    expect(total(m, 'nylas_webhook_delivery_attempts_total')).toBe(0);
    expect(series(m, 'nylas_webhook_last_notification_timestamp_seconds')).toHaveLength(0);
  });

  it('rejects a notification without a signature in enforce mode', async () => {
    const app = await startApp();
    const l = await startListener(app);
    const d = createWebhookSender({ secret: SECRET }).encode(makeEvent('message.created'));
    const res = await fetch(l.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: d.body,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-nylas-sidecar-error')).toBe('sidecar.webhook_bad_signature');
    expect(app.received).toHaveLength(0);
  });

  it('rejects a secret rotated out and accepts the second, rotated-in secret', async () => {
    const app = await startApp();
    const l = await startListener(app, { NYLAS_WEBHOOK_SECRET: 'secret-current, secret-next' });
    const old = createWebhookSender({ secret: SECRET });
    const next = createWebhookSender({ secret: 'secret-next' });
    const rejected = await old.deliver(l.url, makeEvent('grant.created'), { maxAttempts: 1 });
    const accepted = await next.deliver(l.url, makeEvent('grant.created'), { maxAttempts: 1 });
    expect(rejected.attempts[0]!.status).toBe(401);
    expect(accepted.attempts[0]!.status).toBe(200);
    expect(app.received).toHaveLength(1);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'grant.created', outcome: 'bad_signature' })).toBe(1);
    expect(total(m, NOTIFICATIONS, { trigger: 'grant.created', outcome: 'forwarded' })).toBe(1);
  });

  it('forwards a bad signature in observe mode, streaming, and counts it', async () => {
    const app = await startApp();
    const l = await startListener(app, { SIDECAR_WEBHOOK_VERIFY: 'observe' });
    const forger = createWebhookSender({ secret: 'not-the-secret' });
    const good = createWebhookSender({ secret: SECRET });
    const r = await forger.deliver(l.url, makeEvent('event.deleted'), { maxAttempts: 1 });
    await good.deliver(l.url, makeEvent('event.deleted'), { maxAttempts: 1 });
    expect(r.attempts[0]!.status).toBe(200);
    expect(app.received).toHaveLength(2);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'event.deleted', outcome: 'bad_signature' })).toBe(1);
    expect(total(m, NOTIFICATIONS, { trigger: 'event.deleted', outcome: 'forwarded' })).toBe(1);
  });

  it('does not check signatures with verification off', async () => {
    const app = await startApp();
    const l = await startListener(app, { NYLAS_WEBHOOK_SECRET: '', SIDECAR_WEBHOOK_VERIFY: 'off' });
    const r = await createWebhookSender({ secret: 'anything' }).deliver(
      l.url,
      makeEvent('contact.updated'),
    );
    expect(r.delivered).toBe(true);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'contact.updated', outcome: 'forwarded' })).toBe(1);
  });

  it('verifies a gzip-compressed delivery on the compressed bytes and forwards them unchanged', async () => {
    const app = await startApp();
    const l = await startListener(app);
    const sender = createWebhookSender({ secret: SECRET });
    const event = makeEvent('message.updated');
    const r = await sender.deliver(l.url, event, { compress: true, maxAttempts: 1 });
    expect(r.delivered).toBe(true);
    const got = app.received[0]!;
    expect(got.headers['content-encoding']).toBe('gzip');
    expect(got.body.equals(sender.encode(event, { compress: true, attempt: 1 }).body)).toBe(true);
    expect(JSON.parse(gunzipSync(got.body).toString()).id).toBe(event.id);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'message.updated', outcome: 'forwarded' })).toBe(1);
  });
});

describe('webhook listener: duplicates and malformed bodies', () => {
  it('counts a replayed notification as a duplicate and still forwards it', async () => {
    const app = await startApp();
    const l = await startListener(app);
    const sender = createWebhookSender({ secret: SECRET });
    const event = makeEvent('message.created');
    await sender.deliver(l.url, event);
    const replay = await sender.deliver(l.url, event);
    expect(replay.delivered).toBe(true);
    expect(app.received).toHaveLength(2);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'message.created', outcome: 'forwarded' })).toBe(1);
    expect(total(m, NOTIFICATIONS, { trigger: 'message.created', outcome: 'duplicate' })).toBe(1);
  });

  it('does not count a retry of a notification the app failed as a duplicate', async () => {
    let calls = 0;
    const app = await startApp(() => ({ status: ++calls === 1 ? 503 : 200 }));
    const l = await startListener(app);
    const sender = createWebhookSender({ secret: SECRET, backoffMs: () => 0 });
    const r = await sender.deliver(l.url, makeEvent('message.created'));
    expect(r.attempts.map((a) => a.status)).toEqual([503, 200]);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'message.created', outcome: 'forward_failed' })).toBe(
      1,
    );
    expect(total(m, NOTIFICATIONS, { trigger: 'message.created', outcome: 'forwarded' })).toBe(1);
    expect(total(m, NOTIFICATIONS, { outcome: 'duplicate' })).toBe(0);
    expect(
      total(m, 'nylas_webhook_delivery_attempts_total', {
        trigger: 'message.created',
        attempt: '2',
      }),
    ).toBe(1);
  });

  it('forwards correctly signed invalid JSON, counted malformed, with the app status', async () => {
    const app = await startApp(() => ({ status: 400, body: 'bad payload' }));
    const l = await startListener(app);
    const body = Buffer.from('{"type": "message.created", "id": ');
    const res = await fetch(l.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-nylas-signature': sign(SECRET, body) },
      body,
    });
    // The app's own answer; this one rejects it, so Nylas sees a failure: forward_failed wins.
    expect(res.status).toBe(400);
    expect(app.received[0]!.body.equals(body)).toBe(true);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'other', outcome: 'forward_failed' })).toBe(1);
  });

  it('counts invalid JSON the app accepts as malformed', async () => {
    const app = await startApp();
    const l = await startListener(app);
    const body = Buffer.from('not json at all');
    const res = await fetch(l.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-nylas-signature': sign(SECRET, body) },
      body,
    });
    expect(res.status).toBe(200);
    expect(app.received).toHaveLength(1);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'other', outcome: 'malformed' })).toBe(1);
  });

  it('counts a CloudEvent without an id as malformed under its trigger', async () => {
    const app = await startApp();
    const l = await startListener(app);
    const body = Buffer.from(
      JSON.stringify({ specversion: '1.0', type: 'grant.deleted', time: 1739223251 }),
    );
    await fetch(l.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-nylas-signature': sign(SECRET, body) },
      body,
    });
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'grant.deleted', outcome: 'malformed' })).toBe(1);
  });

  it('answers 413 to a 2 MB body without forwarding it', async () => {
    const app = await startApp();
    const l = await startListener(app);
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const res = await rawPost(l.url, {
      headers: {
        'content-type': 'application/json',
        'content-length': big.length,
        'x-nylas-signature': sign(SECRET, big),
      },
      chunks: [big],
    });
    expect(res.status).toBe(413);
    expect(res.headers['x-nylas-sidecar-error']).toBe('sidecar.webhook_body_too_large');
    expect(app.received).toHaveLength(0);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'other', outcome: 'malformed' })).toBe(1);
  });

  it('answers 503 when bodies in flight would pass the memory budget, and gives memory back', async () => {
    const app = await startApp();
    const l = await startListener(app, {}, { maxBufferedBytes: 2000 });
    const sender = createWebhookSender({ secret: SECRET });
    const small = makeEvent('message.created');
    const large = makeEvent('message.created', { object: { text: 'x'.repeat(3000) } });
    const rejected = await sender.deliver(l.url, large, { maxAttempts: 1 });
    expect(rejected.attempts[0]!.status).toBe(503);
    // Sequential small deliveries fit again and again: each gives its memory back.
    for (let i = 0; i < 5; i++)
      expect(
        (await sender.deliver(l.url, { ...small, id: `n-${i}` }, { maxAttempts: 1 })).delivered,
      ).toBe(true);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'other', outcome: 'forward_failed' })).toBe(1);
    expect(total(m, NOTIFICATIONS, { trigger: 'message.created', outcome: 'forwarded' })).toBe(5);
    expect(app.received).toHaveLength(5);
  });

  it('answers 413 to a chunked body that grows past 2 MB while streaming (observe mode)', async () => {
    const app = await startApp();
    const l = await startListener(app, { SIDECAR_WEBHOOK_VERIFY: 'observe' });
    const chunk = Buffer.alloc(256 * 1024, 0x62);
    const res = await rawPost(l.url, {
      headers: { 'content-type': 'application/json', 'x-nylas-signature': '00'.repeat(32) },
      chunks: Array.from({ length: 10 }, () => chunk),
    });
    expect(res.status).toBe(413);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'other', outcome: 'malformed' })).toBe(1);
    // The listener still serves the next delivery.
    const ok = await createWebhookSender({ secret: SECRET }).deliver(
      l.url,
      makeEvent('folder.created'),
    );
    expect(ok.delivered).toBe(true);
  });
});

describe('webhook listener: slow or failing parties', () => {
  it('times out a slow-loris sender that never finishes its headers, and keeps serving', async () => {
    const app = await startApp();
    const l = await startListener(
      app,
      {},
      { timings: { headersTimeoutMs: 300, requestTimeoutMs: 600 } },
    );
    const port = Number(new URL(l.url).port);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let got = '';
      let n = 0;
      const drip = setInterval(() => {
        if (!socket.destroyed)
          socket.write(n++ === 0 ? 'POST / HTTP/1.1\r\nHost: x\r\n' : `X-Drip-${n}: 1\r\n`);
      }, 100);
      socket.on('data', (c: Buffer) => (got += c.toString()));
      socket.on('error', reject);
      socket.on('close', () => {
        clearInterval(drip);
        resolve(got);
      });
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(app.received).toHaveLength(0);
    const ok = await createWebhookSender({ secret: SECRET }).deliver(
      l.url,
      makeEvent('calendar.updated'),
    );
    expect(ok.delivered).toBe(true);
  });

  it('times out a sender that trickles its body, counted malformed and never forwarded whole', async () => {
    const app = await startApp();
    const l = await startListener(
      app,
      {},
      { timings: { headersTimeoutMs: 300, requestTimeoutMs: 600 } },
    );
    const port = Number(new URL(l.url).port);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let got = '';
      socket.write(
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
      );
      const drip = setInterval(() => !socket.destroyed && socket.write(' '), 100);
      socket.on('data', (c: Buffer) => {
        got += c.toString();
        // Answered: a sender that kept writing into the closed connection would be reset.
        clearInterval(drip);
      });
      // A drip already on its way when the listener closed can still draw a reset; after the
      // answer arrived that is the close, not a failure.
      socket.on('error', (err) => (got ? resolve(got) : reject(err)));
      socket.on('close', () => {
        clearInterval(drip);
        resolve(got);
      });
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(app.received).toHaveLength(0);
    await expect
      .poll(async () => total(await l.metrics(), NOTIFICATIONS, { outcome: 'malformed' }), {
        timeout: 5_000,
      })
      .toBe(1);
  });

  it('answers 504 when the app has not answered by the deadline, and still measures the app', async () => {
    const app = await startApp(() => ({ status: 200, delayMs: 700 }));
    const l = await startListener(app, {}, { timings: { answerDeadlineMs: 200 } });
    const sender = createWebhookSender({ secret: SECRET });
    const r = await sender.deliver(l.url, makeEvent('message.created'), { maxAttempts: 1 });
    expect(r.attempts[0]!.status).toBe(504);
    let m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'message.created', outcome: 'forward_failed' })).toBe(
      1,
    );
    // The app's answer arrives later and is observed with its full duration.
    await expect
      .poll(
        async () =>
          total(await l.metrics(), 'nylas_webhook_forward_duration_seconds_count', {
            status_class: '2xx',
          }),
        { timeout: 5_000 },
      )
      .toBe(1);
    m = await l.metrics();
    expect(
      total(m, 'nylas_webhook_forward_duration_seconds_bucket', { status_class: '2xx', le: '0.5' }),
    ).toBe(0);
    expect(
      total(m, 'nylas_webhook_forward_duration_seconds_sum', { status_class: '2xx' }),
    ).toBeGreaterThanOrEqual(0.7);
  });

  it('answers 502 when the app cannot be reached', async () => {
    const app = await startApp();
    const l = await startListener(app);
    await app.close();
    const r = await createWebhookSender({ secret: SECRET }).deliver(
      l.url,
      makeEvent('booking.created'),
      {
        maxAttempts: 1,
      },
    );
    expect(r.attempts[0]!.status).toBe(502);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'booking.created', outcome: 'forward_failed' })).toBe(
      1,
    );
    expect(
      total(m, 'nylas_webhook_forward_duration_seconds_count', { status_class: 'error' }),
    ).toBe(1);
  });

  it("passes the app's 5xx on to Nylas, counted forward_failed", async () => {
    const app = await startApp(() => ({ status: 500, body: 'boom' }));
    const l = await startListener(app);
    const r = await createWebhookSender({ secret: SECRET }).deliver(
      l.url,
      makeEvent('notetaker.media'),
      {
        maxAttempts: 1,
      },
    );
    expect(r.attempts[0]!.status).toBe(500);
    const m = await l.metrics();
    expect(total(m, NOTIFICATIONS, { trigger: 'notetaker.media', outcome: 'forward_failed' })).toBe(
      1,
    );
    expect(total(m, 'nylas_webhook_forward_duration_seconds_count', { status_class: '5xx' })).toBe(
      1,
    );
  });

  it('waits for an in-flight delivery on stop', async () => {
    const app = await startApp(() => ({ status: 200, delayMs: 300 }));
    const l = await startListener(app);
    const pending = createWebhookSender({ secret: SECRET }).deliver(
      l.url,
      makeEvent('message.deleted'),
      {
        maxAttempts: 1,
      },
    );
    await expect.poll(() => app.received.length, { timeout: 5_000 }).toBe(1);
    await l.stop(5000);
    expect((await pending).attempts[0]!.status).toBe(200);
  });
});

describe('webhook listener: challenge', () => {
  it('passes the challenge to the app and returns its echo', async () => {
    const app = await startApp((r) => ({
      status: 200,
      body: new URL(r.url, 'http://x').searchParams.get('challenge') ?? '',
    }));
    const l = await startListener(app);
    const r = await createWebhookSender({ secret: SECRET }).challenge(`${l.url}/webhooks`);
    expect(r.ok).toBe(true);
    expect(app.received[0]!.method).toBe('GET');
    expect(app.received[0]!.url).toBe(`/hooks/nylas?via=sidecar&challenge=${r.challenge}`);
    const m = await l.metrics();
    expect(total(m, 'nylas_webhook_challenges_total', { outcome: 'app_answered' })).toBe(1);
  });

  it('answers the challenge itself when the app does not echo it', async () => {
    const app = await startApp(() => ({ status: 404, body: 'no such route' }));
    const l = await startListener(app);
    const r = await createWebhookSender({ secret: SECRET }).challenge(l.url);
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(r.body).toBe(r.challenge);
    const m = await l.metrics();
    expect(total(m, 'nylas_webhook_challenges_total', { outcome: 'sidecar_answered' })).toBe(1);
  });

  it('answers the challenge itself when the app is too slow', async () => {
    const app = await startApp((r) => ({
      status: 200,
      body: new URL(r.url, 'http://x').searchParams.get('challenge') ?? '',
      delayMs: 1000,
    }));
    const l = await startListener(app, {}, { timings: { challengeDeadlineMs: 150 } });
    const r = await createWebhookSender({ secret: SECRET }).challenge(l.url);
    expect(r.ok).toBe(true);
    const m = await l.metrics();
    expect(total(m, 'nylas_webhook_challenges_total', { outcome: 'sidecar_answered' })).toBe(1);
  });
});

describe('webhook listener: hygiene', () => {
  it('records one span per delivery and challenge, without secrets or signatures', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    cleanups.push(() => provider.shutdown());
    const app = await startApp();
    const l = await startListener(app, {}, {}, provider.getTracer('test'));
    const sender = createWebhookSender({ secret: SECRET });
    const event = makeEvent('grant.expired');
    const signature = sender.encode(event).headers['x-nylas-signature']!;
    await sender.deliver(l.url, event);
    await createWebhookSender({ secret: 'forged' }).deliver(l.url, makeEvent('grant.expired'), {
      maxAttempts: 1,
    });
    await sender.challenge(l.url);
    await l.stop();

    const spans = exporter.getFinishedSpans();
    const notifications = spans.filter((s) => s.name === 'webhook notification');
    expect(notifications.map((s) => s.attributes['nylas.webhook.outcome'])).toEqual([
      'forwarded',
      'bad_signature',
    ]);
    expect(notifications[0]!.kind).toBe(SpanKind.SERVER);
    expect(notifications[0]!.attributes).toMatchObject({
      'nylas.webhook.trigger': 'grant.expired',
      'nylas.webhook.notification_id': event.id,
      'nylas.webhook.delivery_attempt': 1,
      'http.response.status_code': 200,
    });
    expect(notifications[1]!.attributes['http.response.status_code']).toBe(401);
    expect(spans.filter((s) => s.name === 'webhook challenge')).toHaveLength(1);
    const text = JSON.stringify(spans.map((s) => [s.attributes, s.events]));
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(signature);
  });

  it('never writes a webhook secret or signature into its logs', async () => {
    const app = await startApp(() => ({ status: 500 }));
    const l = await startListener(app, { NYLAS_WEBHOOK_SECRET: `${SECRET},second-secret-xyz` });
    const sender = createWebhookSender({ secret: SECRET, backoffMs: () => 0 });
    const forger = createWebhookSender({ secret: 'forged-secret' });
    const d = sender.encode(makeEvent('message.created'));
    await sender.deliver(l.url, makeEvent('message.created'));
    await forger.deliver(l.url, makeEvent('message.created'), { maxAttempts: 1 });
    await l.stop();
    const all = l.logs.join('\n');
    expect(l.logs.length).toBeGreaterThan(0);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain('second-secret-xyz');
    expect(all).not.toContain(d.headers['x-nylas-signature']);
  });

  it('answers unparseable requests with 400 and keeps serving', async () => {
    const app = await startApp();
    const l = await startListener(app);
    const port = Number(new URL(l.url).port);
    const send = (bytes: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
        let got = '';
        socket.on('data', (c: Buffer) => (got += c.toString()));
        socket.on('error', () => resolve(got));
        socket.on('close', () => resolve(got));
      });
    expect(await send('\x16\x03\x01 not http at all\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(
      await send('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbad\r\n'),
    ).toMatch(/^HTTP\/1\.1 400 /);
    const ok = await createWebhookSender({ secret: SECRET }).deliver(
      l.url,
      makeEvent('message.created'),
    );
    expect(ok.delivered).toBe(true);
  });

  it('answers other methods with 405 and a plain GET with 400', async () => {
    const app = await startApp();
    const l = await startListener(app);
    expect((await fetch(l.url, { method: 'PUT', body: 'x' })).status).toBe(405);
    expect((await fetch(l.url)).status).toBe(400);
    expect(app.received).toHaveLength(0);
  });
});

/** An independently computed X-Nylas-Signature. */
function sign(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
