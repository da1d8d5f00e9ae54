import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookSender, makeEvent } from '../../src/simulator/webhook-sender.js';
import { scrape, total } from '../helpers/metrics.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

/**
 * The real clock, once: an app endpoint that takes 12 s behind a sidecar with production
 * deadlines. (webhook-listener.test.ts covers the same logic with scaled-down deadlines.)
 */
describe('webhook listener with an app that takes 12 seconds', () => {
  const SECRET = 'whsec-slow';
  const timers = new Set<NodeJS.Timeout>();
  const app = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const t = setTimeout(() => res.writeHead(200).end('finally'), 12_000);
      timers.add(t);
    });
  });
  let sc: TestSidecar;

  beforeAll(async () => {
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    sc = await startTestSidecar({
      SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
      SIDECAR_WEBHOOK_FORWARD_URL: `http://127.0.0.1:${(app.address() as AddressInfo).port}/hook`,
      NYLAS_WEBHOOK_SECRET: SECRET,
    });
  });
  afterAll(async () => {
    await sc?.stop();
    for (const t of timers) clearTimeout(t);
    app.closeAllConnections();
    await new Promise((resolve) => app.close(resolve));
  });

  it('answers Nylas 504 before its 10 s timeout and records the app above 10 s', async () => {
    const sender = createWebhookSender({ secret: SECRET });
    const r = await sender.deliver(sc.urls.webhook!, makeEvent('message.created'), {
      maxAttempts: 1,
    });
    expect(r.attempts[0]!.status).toBe(504);

    let m = await scrape(sc.urls.admin);
    expect(
      total(m, 'nylas_webhook_notifications_total', {
        trigger: 'message.created',
        outcome: 'forward_failed',
      }),
    ).toBe(1);
    const d = 'nylas_webhook_forward_duration_seconds';
    await expect
      .poll(async () => total(await scrape(sc.urls.admin), `${d}_count`, { status_class: '2xx' }), {
        timeout: 20_000,
        interval: 250,
      })
      .toBe(1);
    m = await scrape(sc.urls.admin);
    expect(total(m, `${d}_bucket`, { status_class: '2xx', le: '10' })).toBe(0);
    expect(total(m, `${d}_bucket`, { status_class: '2xx', le: '15' })).toBe(1);
  }, 40_000);
});
