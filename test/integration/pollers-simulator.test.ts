import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/index.js';
import { createPollers, type Pollers } from '../../src/pollers/index.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { parseMetrics, scrape, series, total } from '../helpers/metrics.js';
import { startTestSidecar, TEST_ENV, type TestSidecar } from '../helpers/sidecar.js';

const API_KEY = 'sim-key-for-pollers';
const CLIENT_ID = 'sim-client';
const CLIENT_SECRET = 'sim-secret-for-pollers';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function startSim(opts: Parameters<typeof createSimulator>[0] = {}): Promise<Simulator> {
  const sim = createSimulator({
    apiKey: API_KEY,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    ...opts,
  });
  await sim.start();
  cleanup.push(() => sim.stop());
  return sim;
}

function simEnv(sim: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NYLAS_API_URI: sim.url,
    NYLAS_STATUS_PAGE_URL: sim.url,
    NYLAS_API_KEY: API_KEY,
    NYLAS_CLIENT_ID: CLIENT_ID,
    NYLAS_CLIENT_SECRET: CLIENT_SECRET,
    ...extra,
  };
}

async function sidecarFor(
  sim: Simulator,
  extra: Record<string, string> = {},
): Promise<TestSidecar> {
  const sc = await startTestSidecar(simEnv(sim, extra));
  cleanup.push(() => sc.stop());
  return sc;
}

describe('grants poller against the simulator', () => {
  it('shows a grant turning invalid in nylas_grants and nylas_grant_invalid on the next run', async () => {
    const sim = await startSim({ grants: 30 });
    const sc = await sidecarFor(sim);
    expect(await sc.sidecar.pollers.runOnce('grants')).toBe('success');
    expect(await sc.sidecar.pollers.runOnce('grants_census')).toBe('success');
    let s = await scrape(sc.urls.admin);
    expect(total(s, 'nylas_grants')).toBe(30);
    expect(total(s, 'nylas_grants', { status: 'invalid' })).toBe(0);
    expect(series(s, 'nylas_grant_invalid')).toHaveLength(0);

    const id = sim.listGrantIds()[7]!;
    void sim.setGrantStatus(id, 'invalid');
    expect(await sc.sidecar.pollers.runOnce('grants')).toBe('success');
    s = await scrape(sc.urls.admin);
    expect(total(s, 'nylas_grants', { status: 'invalid' })).toBe(1);
    // Valid counts come from the census, which keeps its last result until it runs again.
    expect(total(s, 'nylas_grants', { status: 'valid' })).toBe(30);
    expect(await sc.sidecar.pollers.runOnce('grants_census')).toBe('success');
    s = await scrape(sc.urls.admin);
    expect(total(s, 'nylas_grants', { status: 'valid' })).toBe(29);
    const inv = series(s, 'nylas_grant_invalid');
    expect(inv).toHaveLength(1);
    expect(inv[0]!.labels.grant_id).toBe(id);
    expect(inv[0]!.labels).not.toHaveProperty('email');
    expect(total(s, 'nylas_poller_runs_total', { poller: 'grants', result: 'success' })).toBe(2);
    expect(
      total(s, 'nylas_poller_runs_total', { poller: 'grants_census', result: 'success' }),
    ).toBe(2);

    void sim.setGrantStatus(id, 'valid');
    await sc.sidecar.pollers.runOnce('grants');
    s = await scrape(sc.urls.admin);
    expect(series(s, 'nylas_grant_invalid')).toHaveLength(0);
    expect(total(s, 'nylas_grants', { status: 'invalid' })).toBe(0);
  });

  it('caps nylas_grant_invalid at SIDECAR_MAX_GRANT_SERIES and counts the dropped series', async () => {
    const sim = await startSim({ grants: 40, invalidGrants: 5 });
    const sc = await sidecarFor(sim, { SIDECAR_MAX_GRANT_SERIES: '2' });
    await sc.sidecar.pollers.runOnce('grants');
    const s = await scrape(sc.urls.admin);
    expect(series(s, 'nylas_grant_invalid')).toHaveLength(2);
    expect(total(s, 'nylas_grants', { status: 'invalid' })).toBe(5);
    expect(total(s, 'nylas_sidecar_series_dropped_total', { metric: 'nylas_grant_invalid' })).toBe(
      3,
    );
  });

  it('waits out 429s with Retry-After inside a run instead of failing it', async () => {
    const sim = await startSim({ grants: 1400, grantsRateLimitPerSecond: 3 });
    const config = loadConfig({ env: { ...TEST_ENV, ...simEnv(sim) } });
    const metrics = createMetrics({ latencyBuckets: [1], version: 't', defaultMetrics: false });
    const pollers = createPollers({
      config,
      metrics,
      logger: createLogger({ level: 'silent' }),
      tracer: trace.getTracer('t'),
      requestsPerSecond: 1000,
    });
    cleanup.push(() => pollers.stop());
    expect(await pollers.runOnce('grants')).toBe('success');
    expect(await pollers.runOnce('grants_census')).toBe('success');
    expect(sim.stats.rateLimited).toBeGreaterThan(0);
    expect(pollers.snapshot().grants!.total).toBe(1400);
  });

  it('refreshes 20,000 invalid of 1,000,000 grants in 101 requests and counts the rest in a few hundred', async () => {
    // Nylas's limit is left out here (the pacer's own test covers the pace, on a fake clock).
    const sim = await startSim({
      grants: 1_000_000,
      invalidGrants: 20_000,
      grantsRateLimitPerSecond: 1_000_000,
    });
    const config = loadConfig({ env: { ...TEST_ENV, ...simEnv(sim) } });
    const metrics = createMetrics({ latencyBuckets: [1], version: 't', defaultMetrics: false });
    const pollers = createPollers({
      config,
      metrics,
      logger: createLogger({ level: 'silent' }),
      tracer: trace.getTracer('t'),
      requestsPerSecond: 1000,
    });
    cleanup.push(() => pollers.stop());

    expect(await pollers.runOnce('grants')).toBe('success');
    // 20,000 invalid grants are 100 full pages and one empty one: not the 5,000 pages of a listing.
    expect(sim.stats.grantsRequests).toBe(101);
    let snap = pollers.snapshot().grants!;
    expect(snap.invalidTotal).toBe(20_000);
    // The per-grant series stay capped at SIDECAR_MAX_GRANT_SERIES (1,000 by default).
    expect(snap.invalid).toHaveLength(1000);
    expect(snap.total).toBeUndefined();

    expect(await pollers.runOnce('grants_census')).toBe('success');
    const censusRequests = sim.stats.grantsRequests - 101;
    expect(censusRequests).toBeLessThan(400);
    snap = pollers.snapshot().grants!;
    expect(snap.total).toBe(1_000_000);
    expect(snap.censusAt).toBeDefined();
    // What outlives the runs is the summary and the capped invalid list, not the grants.
    expect(JSON.stringify(snap).length).toBeLessThan(128 * 1024);
    const s = parseMetrics(await metrics.registry.metrics());
    expect(total(s, 'nylas_grants')).toBe(1_000_000);
    expect(total(s, 'nylas_grants', { status: 'invalid' })).toBe(20_000);
    expect(series(s, 'nylas_grant_invalid', { source: 'poll' })).toHaveLength(1000);
    expect(total(s, 'nylas_grants_census_timestamp_seconds')).toBeGreaterThan(0);
    expect(sim.stats.rateLimited).toBe(0);
  }, 120_000);
});

describe('webhooks poller against the simulator', () => {
  it('polls Pub/Sub and SNS channels like destinations, and says since when and until when', async () => {
    const sim = await startSim();
    const sc = await sidecarFor(sim);
    const [pubsub, sns] = sim.listChannelIds();
    // Failing for 30 hours: Nylas marks it failed 72 hours in.
    sim.setChannelStatus(sns!, 'failing', 30 * 3600);
    const crm = (sim.state().webhooks as { id: string; description: string }[]).find(
      (w) => w.description === 'CRM sync',
    )!;
    sim.setWebhookStatus(crm.id, 'failing', 25 * 3600);
    expect(await sc.sidecar.pollers.runOnce('webhooks')).toBe('success');
    const s = await scrape(sc.urls.admin);
    const state = (id: string) =>
      Object.fromEntries(
        series(s, 'nylas_channel_status', { channel_id: id }).map((x) => [
          x.labels.status,
          x.value,
        ]),
      );
    expect(state(sns!)).toEqual({ active: 0, pause: 0, failing: 1, failed: 0, unknown: 0 });
    expect(state(pubsub!)).toMatchObject({ active: 1, failing: 0 });
    expect(series(s, 'nylas_channel_info', { channel_id: sns! })[0]!.labels).toMatchObject({
      type: 'sns',
      description: 'Audit trail',
    });
    // Never the topic: an SNS ARN names the AWS account.
    expect(JSON.stringify(series(s, 'nylas_channel_info'))).not.toContain('arn:aws');
    const nowSec = Date.now() / 1000;
    const since = total(s, 'nylas_channel_status_since_timestamp_seconds', { channel_id: sns! });
    expect(nowSec - since).toBeGreaterThanOrEqual(30 * 3600 - 5);
    expect(nowSec - since).toBeLessThan(30 * 3600 + 60);
    const whSince = total(s, 'nylas_webhook_status_since_timestamp_seconds', {
      webhook_id: crm.id,
    });
    expect(Math.round((nowSec - whSince) / 3600)).toBe(25);
    expect(total(s, 'nylas_poller_requests_total', { api: 'channels', code: '200' })).toBe(2);

    const status = (await (await fetch(`${sc.urls.admin}/status`)).json()) as {
      webhooks: {
        destinations: { id: string; markedFailedAt: string | null }[];
        channels: { id: string; status: string; markedFailedAt: string | null }[];
      };
    };
    const ch = status.webhooks.channels.find((c) => c.id === sns)!;
    expect(Date.parse(ch.markedFailedAt!) / 1000 - since).toBe(72 * 3600);
    const html = await (await fetch(`${sc.urls.admin}/`)).text();
    expect(html).toMatch(/SNS channel <code>[^<]+<\/code> \(Audit trail\) has been failing since/);
    expect(html).toMatch(
      /Webhook destination <code>[^<]+<\/code> \(CRM sync\) has been failing since/,
    );
  });

  it('flips a destination switched to failing in the nylas_webhook_status StateSet', async () => {
    const sim = await startSim();
    const sc = await sidecarFor(sim);
    expect(await sc.sidecar.pollers.runOnce('webhooks')).toBe('success');
    let s = await scrape(sc.urls.admin);
    const info = series(s, 'nylas_webhook_info');
    expect(info.length).toBeGreaterThanOrEqual(3);
    const crm = info.find((i) => i.labels.description === 'CRM sync')!;
    expect(crm.labels.url_host).toBe('crm.example.com');
    const id = crm.labels.webhook_id!;
    const states = () =>
      Object.fromEntries(
        series(s, 'nylas_webhook_status', { webhook_id: id }).map((x) => [
          x.labels.status,
          x.value,
        ]),
      );
    expect(states()).toEqual({ active: 1, pause: 0, failing: 0, failed: 0, unknown: 0 });

    sim.setWebhookStatus(id, 'failing');
    await sc.sidecar.pollers.runOnce('webhooks');
    s = await scrape(sc.urls.admin);
    expect(states()).toEqual({ active: 0, pause: 0, failing: 1, failed: 0, unknown: 0 });
    const text = await (await fetch(`${sc.urls.admin}/metrics`)).text();
    expect(text).not.toContain('/hooks/nylas');
    expect(text).not.toContain('oncall@example.com');
  });
});

describe('status page poller against the simulator', () => {
  it('shows an opened incident and drops it once resolved', async () => {
    const sim = await startSim();
    const sc = await sidecarFor(sim);
    await sc.sidecar.pollers.runOnce('status_page');
    let s = await scrape(sc.urls.admin);
    expect(series(s, 'nylas_status_page_incident_info')).toHaveLength(0);
    expect(total(s, 'nylas_status_page_indicator')).toBe(0);
    expect(
      series(s, 'nylas_status_page_component_status', { status: 'operational' }).length,
    ).toBeGreaterThan(0);

    const id = sim.openIncident({ name: 'Delayed message sync', impact: 'major' });
    await sc.sidecar.pollers.runOnce('status_page');
    s = await scrape(sc.urls.admin);
    expect(
      series(s, 'nylas_status_page_incident_info', { incident_id: id, impact: 'major' }),
    ).toHaveLength(1);
    expect(total(s, 'nylas_status_page_incidents', { impact: 'major' })).toBe(1);
    expect(total(s, 'nylas_status_page_indicator')).toBeGreaterThan(0);

    sim.resolveIncident(id);
    await sc.sidecar.pollers.runOnce('status_page');
    s = await scrape(sc.urls.admin);
    expect(series(s, 'nylas_status_page_incident_info')).toHaveLength(0);
    expect(total(s, 'nylas_status_page_incidents', { impact: 'major' })).toBe(0);
  });

  it('keeps the last snapshot through three 500s while errors rise and last_success stays', async () => {
    const sim = await startSim();
    const sc = await sidecarFor(sim);
    const id = sim.openIncident({ name: 'API errors', impact: 'minor' });
    expect(await sc.sidecar.pollers.runOnce('status_page')).toBe('success');
    const good = await scrape(sc.urls.admin);
    const lastSuccess = total(good, 'nylas_poller_last_success_timestamp_seconds', {
      poller: 'status_page',
    });
    expect(lastSuccess).toBeGreaterThan(0);

    sim.setFaults({ statusPageFailures: 3 });
    for (let i = 1; i <= 3; i++) {
      expect(await sc.sidecar.pollers.runOnce('status_page')).toBe('error');
      const s = await scrape(sc.urls.admin);
      expect(total(s, 'nylas_poller_runs_total', { poller: 'status_page', result: 'error' })).toBe(
        i,
      );
      expect(
        total(s, 'nylas_poller_last_success_timestamp_seconds', { poller: 'status_page' }),
      ).toBe(lastSuccess);
      expect(series(s, 'nylas_status_page_incident_info', { incident_id: id })).toHaveLength(1);
      expect(series(s, 'nylas_status_page_component_status')).toEqual(
        series(good, 'nylas_status_page_component_status'),
      );
    }
    expect(sc.logs.filter((l) => l.includes('"poller_failed"'))).toHaveLength(3);
    expect(await sc.sidecar.pollers.runOnce('status_page')).toBe('success');
  });
});

describe('accounts poller (v2) against the simulator', () => {
  it('restarts a stopped account once, and not again within the hour', async () => {
    const sim = await startSim({ accounts: 6 });
    const clock = { t: Date.UTC(2026, 10, 24, 2, 0, 0) };
    const config = loadConfig({
      env: { ...TEST_ENV, ...simEnv(sim, { SIDECAR_RESTART_STOPPED_ACCOUNTS: 'true' }) },
    });
    const metrics = createMetrics({ latencyBuckets: [1], version: 't', defaultMetrics: false });
    const logs: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: new Writable({
        write(c: Buffer, _e, cb) {
          logs.push(...c.toString().split('\n').filter(Boolean));
          cb();
        },
      }),
    });
    const pollers: Pollers = createPollers({
      config,
      metrics,
      logger,
      tracer: trace.getTracer('t'),
      now: () => clock.t,
    });
    cleanup.push(() => pollers.stop());
    const account = sim.listAccountIds()[2]!;
    const restarts = () => sim.stats.accountRestarts.filter((r) => r.accountId === account);

    // Healthy: nothing restarted.
    expect(await pollers.runOnce('accounts')).toBe('success');
    expect(restarts()).toHaveLength(0);

    sim.setAccountSyncState(account, 'stopped');
    expect(await pollers.runOnce('accounts')).toBe('success');
    expect(restarts().map((r) => r.action)).toEqual(['downgrade', 'upgrade']);
    let s = parseMetrics(await metrics.registry.metrics());
    expect(total(s, 'nylas_account_sync_restarts_total', { result: 'success' })).toBe(1);
    expect(
      series(s, 'nylas_account_unhealthy', { account_id: account, sync_state: 'stopped' }),
    ).toHaveLength(1);
    expect(logs.some((l) => l.includes('"account_sync_restart"') && l.includes(account))).toBe(
      true,
    );

    // It stops again: within the hour it is left alone, and shows as unhealthy.
    sim.setAccountSyncState(account, 'stopped');
    clock.t += 59 * 60_000;
    await pollers.runOnce('accounts');
    expect(restarts()).toHaveLength(2);
    s = parseMetrics(await metrics.registry.metrics());
    expect(total(s, 'nylas_account_sync_restarts_total')).toBe(1);
    expect(total(s, 'nylas_accounts', { sync_state: 'stopped' })).toBe(1);

    // An hour after the restart it may be restarted again.
    clock.t += 2 * 60_000;
    await pollers.runOnce('accounts');
    expect(restarts()).toHaveLength(4);
    s = parseMetrics(await metrics.registry.metrics());
    expect(total(s, 'nylas_account_sync_restarts_total', { result: 'success' })).toBe(2);
  });

  it('does not restart anything unless SIDECAR_RESTART_STOPPED_ACCOUNTS is on', async () => {
    const sim = await startSim({ accounts: 3 });
    const sc = await sidecarFor(sim);
    sim.setAccountSyncState(sim.listAccountIds()[0]!, 'stopped');
    expect(await sc.sidecar.pollers.runOnce('accounts')).toBe('success');
    expect(sim.stats.accountRestarts).toHaveLength(0);
    const s = await scrape(sc.urls.admin);
    expect(total(s, 'nylas_accounts')).toBe(3);
    expect(series(s, 'nylas_account_unhealthy', { sync_state: 'stopped' })).toHaveLength(1);
  });
});
