// Demo mode in this process, wired the way main.ts wires it: traffic reaches the proxy, webhook
// deliveries reach the demo app through the listener, and stopping leaves nothing running.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createSidecar, type Sidecar } from '../../src/app.js';
import { loadConfig, withOverrides } from '../../src/config/index.js';
import { startDemo, type Demo } from '../../src/demo/index.js';
import { createLogger } from '../../src/log/logger.js';
import { scrape, series, total } from '../helpers/metrics.js';

const quietLogger = () =>
  createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

async function until(f: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('demo mode in process', () => {
  let demo: Demo | undefined;
  let sidecar: Sidecar | undefined;
  afterEach(async () => {
    await demo?.stopTraffic();
    await sidecar?.stop();
    await demo?.stop();
    demo = undefined;
    sidecar = undefined;
  });

  it('refuses an unknown scenario and names the valid ones', async () => {
    await expect(startDemo({ scenario: 'meltdown', logger: quietLogger() })).rejects.toThrow(
      /valid: healthy, outage/,
    );
  });

  it('drives SDK traffic through the proxy and signed deliveries through the listener, then stops cleanly', async () => {
    const logger = quietLogger();
    demo = await startDemo({ scenario: 'healthy', logger });
    const d = demo;
    const base = loadConfig({
      env: {
        SIDECAR_LISTEN: '127.0.0.1:0',
        SIDECAR_ADMIN_LISTEN: '127.0.0.1:0',
        SIDECAR_POLL_GRANTS: 'off',
        SIDECAR_POLL_ACCOUNTS: 'off',
        SIDECAR_POLL_STATUS_PAGE: 'off',
        SIDECAR_POLL_WEBHOOKS: 'off',
      },
    });
    expect(base.demo).toBe(true);
    const config = withOverrides(base, (c) => {
      c.nylas.apiUri = new URL(d.upstreamUrl);
      c.nylas.statusPageUrl = new URL(d.statusPageUrl);
      c.nylas.apiKey = d.credentials.apiKey;
      c.nylas.clientId = d.credentials.clientId;
      c.nylas.clientSecret = d.credentials.clientSecret;
      c.webhook.listen = { host: '127.0.0.1', port: 0 };
      c.webhook.forwardUrl = new URL(d.appWebhookUrl);
      c.nylas.webhookSecrets = [d.credentials.webhookSecret];
      c.webhook.verify = 'enforce';
    });
    sidecar = createSidecar(config, { logger, version: '0.0.0-test', defaultMetrics: false });
    const urls = await sidecar.start();
    expect(d.scenarioCommand).toContain(`${d.upstreamUrl}/_simulator/scenario`);

    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    d.startTraffic({ proxy: urls.proxy!, webhook: urls.webhook });
    await until(async () => {
      const s = await scrape(urls.admin);
      const routes = new Set(series(s, 'nylas_api_requests_total').map((x) => x.labels.route));
      return (
        routes.size >= 4 &&
        total(s, 'nylas_webhook_notifications_total', { outcome: 'forwarded' }) >= 1
      );
    });
    const s = await scrape(urls.admin);
    expect(total(s, 'nylas_webhook_notifications_total', { outcome: 'bad_signature' })).toBe(0);

    // Switching the scenario is one HTTP call, as the banner says.
    const switched = await fetch(`${d.upstreamUrl}/_simulator/scenario`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rate-limited' }),
    });
    expect(switched.status).toBe(200);
    await until(async () => total(await scrape(urls.admin), 'nylas_api_rate_limited_total') > 0);

    await d.stopTraffic();
    await sidecar.stop();
    await d.stop();
    sidecar = undefined;
    demo = undefined;
    await expect(fetch(`${d.upstreamUrl}/_simulator/state`)).rejects.toThrow();
    await expect(fetch(d.appWebhookUrl, { method: 'POST' })).rejects.toThrow();
    // The traffic loop's timers are gone (the SDK's own request timers end with their requests).
    await new Promise((r) => setTimeout(r, 100));
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(timersAfter).toBeLessThanOrEqual(timersBefore);
  });
});
