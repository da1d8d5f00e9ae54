// Every named scenario changes what the sidecar's /metrics shows, the way its name says: the
// sidecar in this process, pointed at the simulator, with SDK traffic, webhook deliveries through
// the listener and one run of every poller.
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoApp } from '../../src/demo/app.js';
import { Nylas } from '../../src/demo/nylas-sdk.js';
import { createSimulator, SCENARIOS, type Simulator } from '../../src/simulator/index.js';
import { scrape, series, total, type Sample } from '../helpers/metrics.js';
import { startTestSidecar } from '../helpers/sidecar.js';

const creds = {
  apiKey: 'scenario-api-key',
  clientId: 'scenario-client',
  clientSecret: 'scenario-secret',
  webhookSecret: 'scenario-webhook-secret',
};

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Runs `n` SDK calls through the proxy, `width` at a time; errors are expected and ignored. */
async function traffic(proxyUrl: string, grants: string[], n = 48, width = 8): Promise<void> {
  const nylas = new Nylas({ apiKey: creds.apiKey, apiUri: proxyUrl, timeout: 30 });
  const calls: Array<(g: string) => Promise<unknown>> = [
    (g) => nylas.messages.list({ identifier: g, queryParams: { limit: 10 } }),
    (g) => nylas.threads.list({ identifier: g, queryParams: { limit: 5 } }),
    (g) => nylas.events.list({ identifier: g, queryParams: { calendarId: 'primary' } }),
    (g) => nylas.contacts.list({ identifier: g, queryParams: { limit: 20 } }),
    () => nylas.grants.list({ queryParams: { limit: 5 } }),
    (g) => nylas.calendars.list({ identifier: g }),
  ];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const k = next++;
        await calls[k % calls.length]!(grants[(k * 7) % grants.length]!).catch(() => undefined);
      }
    }),
  );
}

/** The whole picture for one scenario: what /metrics shows after traffic, deliveries and polls. */
async function metricsUnder(scenario: string): Promise<{ s: Sample[]; sim: Simulator }> {
  const sim = createSimulator({ grants: 60, accounts: 9, seed: 3, ...creds });
  await sim.start();
  cleanup.push(() => sim.stop());
  const app = createDemoApp({
    failing: () => sim.scenario === 'webhook-failing',
    random: () => 0.1,
  });
  const appUrl = await app.start();
  cleanup.push(() => app.stop());
  const sc = await startTestSidecar({
    NYLAS_API_URI: sim.url,
    NYLAS_STATUS_PAGE_URL: sim.url,
    NYLAS_API_KEY: creds.apiKey,
    NYLAS_CLIENT_ID: creds.clientId,
    NYLAS_CLIENT_SECRET: creds.clientSecret,
    NYLAS_WEBHOOK_SECRET: creds.webhookSecret,
    SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
    SIDECAR_WEBHOOK_FORWARD_URL: appUrl,
  });
  cleanup.push(() => sc.stop());
  // The app registers the listener as a destination while all is well, as it would in production.
  const created = await fetch(`${sim.url}/v3/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${creds.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ trigger_types: ['message.created'], webhook_url: sc.urls.webhook }),
  });
  expect(created.status).toBe(200);

  sim.setScenario(scenario);
  await traffic(sc.urls.proxy, sim.listGrantIds());
  await sim.deliverWebhooks({ trigger: 'message.created', count: 4 });
  // Faults apply to the pollers too; with a clear schedule they would run again, here once is enough.
  sim.setFaults({
    errors: [],
    htmlErrorRate: 0,
    resetRate: 0,
    nylasRateLimitRate: 0,
    latencyMs: 0,
    latencyTailRate: 0,
  });
  for (const p of ['grants', 'accounts', 'webhooks', 'status_page'] as const)
    await sc.sidecar.pollers.runOnce(p);
  return { s: await scrape(sc.urls.admin), sim };
}

const requests = (s: Sample[], m: Record<string, string> = {}) =>
  total(s, 'nylas_api_requests_total', m);
const byClass = (s: Sample[], cls: string) =>
  series(s, 'nylas_api_requests_total')
    .filter((x) => x.labels.code!.startsWith(cls))
    .reduce((a, x) => a + x.value, 0);

describe('every named scenario shows in /metrics as its name says', () => {
  it('covers every scenario the simulator has', () => {
    expect([...SCENARIOS].sort()).toEqual(
      [
        'accounts-stopped',
        'degraded',
        'grant-expiry',
        'healthy',
        'invalid-grants',
        'outage',
        'platform-critical',
        'platform-incident',
        'platform-maintenance',
        'platform-regional',
        'rate-limited',
        'webhook-failing',
      ].sort(),
    );
  });

  it('healthy: only 2xx, nothing invalid, stopped, failing or open on the status page', async () => {
    const { s } = await metricsUnder('healthy');
    expect(requests(s)).toBeGreaterThanOrEqual(48);
    expect(byClass(s, '2')).toBe(requests(s));
    expect(total(s, 'nylas_grants', { status: 'invalid' })).toBe(0);
    expect(total(s, 'nylas_accounts', { sync_state: 'running' })).toBe(9);
    // Four v3 destinations (three seeded, one registered) and the two v2 webhooks.
    expect(total(s, 'nylas_webhook_status', { status: 'active' })).toBe(6);
    expect(total(s, 'nylas_status_page_indicator')).toBe(0);
    expect(total(s, 'nylas_webhook_notifications_total', { outcome: 'forwarded' })).toBe(4);
  });

  it('outage: most proxied calls end in 5xx, unparsed HTML bodies or upstream failures', async () => {
    const { s } = await metricsUnder('outage');
    expect(byClass(s, '5') / requests(s)).toBeGreaterThan(0.6);
    expect(requests(s, { error_type: 'unparsed' })).toBeGreaterThan(0);
    expect(requests(s, { error_type: 'api.internal_error' })).toBeGreaterThan(0);
  });

  it('degraded: slow answers in the latency histogram, and some 5xx', async () => {
    const { s } = await metricsUnder('degraded');
    const count = total(s, 'nylas_api_request_duration_seconds_count');
    const fast = total(s, 'nylas_api_request_duration_seconds_bucket', { le: '0.25' });
    expect(count).toBeGreaterThan(0);
    expect(fast).toBe(0);
    expect(byClass(s, '5')).toBeGreaterThan(0);
    expect(byClass(s, '5') / requests(s)).toBeLessThan(0.5);
  });

  it('rate-limited: 429s of both scopes, nylas and provider', async () => {
    const { s } = await metricsUnder('rate-limited');
    expect(total(s, 'nylas_api_rate_limited_total', { scope: 'nylas' })).toBeGreaterThan(0);
    expect(total(s, 'nylas_api_rate_limited_total', { scope: 'provider' })).toBeGreaterThan(0);
    expect(requests(s, { code: '429', error_type: 'nylas_rate_limit_exceeded' })).toBeGreaterThan(
      0,
    );
  });

  it('invalid-grants: a large share of grants invalid, one series each, and 401s in traffic', async () => {
    const { s } = await metricsUnder('invalid-grants');
    const invalid = total(s, 'nylas_grants', { status: 'invalid' });
    expect(invalid / total(s, 'nylas_grants')).toBeGreaterThan(0.25);
    expect(series(s, 'nylas_grant_invalid')).toHaveLength(invalid);
    expect(total(s, 'nylas_grant_auth_failures_total')).toBeGreaterThan(0);
  });

  it('accounts-stopped: v2 accounts with sync_state stopped, one unhealthy series each', async () => {
    const { s } = await metricsUnder('accounts-stopped');
    const stopped = total(s, 'nylas_accounts', { sync_state: 'stopped' });
    expect(stopped).toBeGreaterThan(0);
    expect(series(s, 'nylas_account_unhealthy', { sync_state: 'stopped' })).toHaveLength(stopped);
  });

  it('webhook-failing: destinations failing and one failed, and deliveries the app fails', async () => {
    const { s, sim } = await metricsUnder('webhook-failing');
    const v3 = (sim.state().webhooks as Array<{ id: string }>).map((w) => w.id);
    const status = (st: string) =>
      v3.reduce((a, id) => a + total(s, 'nylas_webhook_status', { webhook_id: id, status: st }), 0);
    expect(status('failed')).toBe(1);
    expect(status('failing')).toBe(3);
    expect(status('active')).toBe(0);
    expect(
      total(s, 'nylas_webhook_notifications_total', { outcome: 'forward_failed' }),
    ).toBeGreaterThan(0);
  });

  it('platform-incident: status indicator major, a major incident open, a component degraded', async () => {
    const { s } = await metricsUnder('platform-incident');
    expect(total(s, 'nylas_status_page_indicator')).toBe(2);
    expect(total(s, 'nylas_status_page_incidents', { impact: 'major' })).toBe(1);
    expect(
      total(s, 'nylas_status_page_component_status', {
        component: 'API',
        status: 'partial_outage',
      }),
    ).toBe(1);
    expect(byClass(s, '5')).toBeGreaterThan(0);
  });

  it('platform-critical: a critical incident counted while the indicator reads none and every component is operational', async () => {
    const { s } = await metricsUnder('platform-critical');
    expect(total(s, 'nylas_status_page_indicator')).toBe(0);
    expect(total(s, 'nylas_status_page_incidents', { impact: 'critical' })).toBe(1);
    expect(
      series(s, 'nylas_status_page_incident_info', { impact: 'critical', status: 'monitoring' }),
    ).toHaveLength(1);
    expect(total(s, 'nylas_status_page_component_status', { status: 'operational' })).toBe(6);
  });

  it('platform-maintenance: the maintenance indicator (-2), a maintenance in progress, no incident', async () => {
    const { s } = await metricsUnder('platform-maintenance');
    expect(total(s, 'nylas_status_page_indicator')).toBe(-2);
    expect(total(s, 'nylas_status_page_maintenance_active')).toBe(1);
    expect(total(s, 'nylas_status_page_incidents')).toBe(0);
    expect(
      total(s, 'nylas_status_page_component_status', {
        component: 'Dashboard',
        status: 'under_maintenance',
      }),
    ).toBe(1);
  });

  it('platform-regional: components of the same name in two groups stay apart', async () => {
    const { s } = await metricsUnder('platform-regional');
    const on = (group: string) =>
      series(s, 'nylas_status_page_component_status', { component: 'Consul', group })
        .filter((x) => x.value === 1)
        .map((x) => x.labels.status);
    expect(on('US')).toEqual(['major_outage']);
    expect(on('EU')).toEqual(['operational']);
    // Six flat components and six grouped ones; the groups themselves are not components.
    expect(total(s, 'nylas_status_page_component_status')).toBe(12);
    expect(total(s, 'nylas_status_page_indicator')).toBe(2);
  });
});
