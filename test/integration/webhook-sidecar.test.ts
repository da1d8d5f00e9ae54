import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookSender, makeEvent } from '../../src/simulator/webhook-sender.js';
import { scrape, total } from '../helpers/metrics.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

/** End to end through the composed sidecar: env configuration, the listener, the admin /metrics. */
describe('webhook listener in the sidecar', () => {
  const SECRET = 'whsec-e2e-secret';
  const received: { url: string; headers: IncomingMessage['headers']; body: Buffer }[] = [];
  const app = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const challenge = new URL(req.url ?? '/', 'http://x').searchParams.get('challenge');
      res.writeHead(200).end(challenge ?? 'ok');
    });
  });
  let sc: TestSidecar;
  let webhookUrl: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/nylas/webhook`;
    sc = await startTestSidecar({
      SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
      SIDECAR_WEBHOOK_FORWARD_URL: appUrl,
      NYLAS_WEBHOOK_SECRET: SECRET,
    });
    webhookUrl = sc.urls.webhook!;
  });
  afterAll(async () => {
    await sc?.stop();
    app.closeAllConnections();
    await new Promise((resolve) => app.close(resolve));
  });

  it('forwards signed deliveries, rejects forged ones, and exports both on /metrics', async () => {
    const sender = createWebhookSender({ secret: SECRET, backoffMs: () => 0 });
    const events = [
      makeEvent('message.created'),
      makeEvent('message.created'),
      makeEvent('grant.expired'),
    ];
    for (const e of events) expect((await sender.deliver(webhookUrl, e)).delivered).toBe(true);
    const forged = await createWebhookSender({ secret: 'guess' }).deliver(
      webhookUrl,
      makeEvent('grant.expired'),
      {
        maxAttempts: 1,
      },
    );
    expect(forged.attempts[0]!.status).toBe(401);

    expect(received).toHaveLength(3);
    for (const [i, e] of events.entries())
      expect(received[i]!.body.equals(sender.encode(e, { attempt: 1 }).body)).toBe(true);

    const m = await scrape(sc.urls.admin);
    const n = 'nylas_webhook_notifications_total';
    expect(total(m, n, { trigger: 'message.created', outcome: 'forwarded' })).toBe(2);
    expect(total(m, n, { trigger: 'grant.expired', outcome: 'forwarded' })).toBe(1);
    expect(total(m, n, { trigger: 'grant.expired', outcome: 'bad_signature' })).toBe(1);
    expect(total(m, 'nylas_webhook_forward_duration_seconds_count', { status_class: '2xx' })).toBe(
      3,
    );
  });

  it('answers the challenge through the app and counts it', async () => {
    const r = await createWebhookSender({ secret: SECRET }).challenge(webhookUrl);
    expect(r.ok).toBe(true);
    const m = await scrape(sc.urls.admin);
    expect(total(m, 'nylas_webhook_challenges_total', { outcome: 'app_answered' })).toBe(1);
  });
});
