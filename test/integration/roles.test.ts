import { Nylas } from '../../src/demo/nylas-sdk.js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { scrape, series, total, type Sample } from '../helpers/metrics.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const API_KEY = 'sim-key-for-roles';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function startSim(): Promise<Simulator> {
  const sim = createSimulator({ apiKey: API_KEY, grants: 12 });
  await sim.start();
  cleanup.push(() => sim.stop());
  return sim;
}

async function sidecar(env: Record<string, string>): Promise<TestSidecar> {
  const sc = await startTestSidecar(env);
  cleanup.push(() => sc.stop());
  return sc;
}

const names = (s: Sample[]) => new Set(s.map((x) => x.name.replace(/_(bucket|sum|count)$/, '')));
const POLLER_PREFIXES = [
  'nylas_poller_',
  'nylas_grants',
  'nylas_grant_invalid',
  'nylas_webhook_status',
  'nylas_webhook_info',
  'nylas_status_page_',
  'nylas_accounts',
  'nylas_account_',
];

describe('SIDECAR_ROLE', () => {
  it('proxy role without NYLAS_API_KEY proxies the SDK to NYLAS_API_URI, never the demo, and exports no poller series', async () => {
    const sim = await startSim();
    const sc = await sidecar({
      SIDECAR_ROLE: 'proxy',
      NYLAS_API_KEY: '',
      NYLAS_API_URI: sim.url,
      NYLAS_STATUS_PAGE_URL: sim.url,
      // Schedules on: the role alone must keep them from running.
      SIDECAR_POLL_GRANTS: '*/5 * * * *',
      SIDECAR_POLL_STATUS_PAGE: '* * * * *',
    });
    const before = sim.stats.requests;
    const nylas = new Nylas({ apiKey: API_KEY, apiUri: sc.urls.proxy });
    const grantId = sim.listGrantIds()[0]!;
    const msgs = await nylas.messages.list({ identifier: grantId, queryParams: { limit: 2 } });
    expect(Array.isArray(msgs.data)).toBe(true);
    // The request reached the configured upstream (not a demo simulator of its own).
    expect(sim.stats.requests).toBe(before + 1);

    const s = await scrape(sc.urls.admin);
    expect(series(s, 'nylas_sidecar_role')).toEqual([
      { name: 'nylas_sidecar_role', labels: { role: 'proxy' }, value: 1 },
    ]);
    expect(total(s, 'nylas_api_requests_total')).toBe(1);
    // Key failures start at 0 for the part of this role that calls Nylas: a panel shows 0.
    expect(series(s, 'nylas_api_key_auth_failures_total')).toEqual([
      { name: 'nylas_api_key_auth_failures_total', labels: { source: 'proxy' }, value: 0 },
    ]);
    const exported = [...names(s)];
    expect(exported.filter((n) => POLLER_PREFIXES.some((p) => n.startsWith(p)))).toEqual([]);
    // Not even HELP lines: a dashboard must not read a proxy replica's "0" as "no incident".
    const text = await (await fetch(`${sc.urls.admin}/metrics`)).text();
    expect(text).not.toContain('nylas_status_page_indicator');
    expect(sc.sidecar.pollers.snapshot().pollers.every((p) => !p.enabled)).toBe(true);
    expect(sc.sidecar.pollers.snapshot().pollers[0]!.disabledReason).toMatch(/SIDECAR_ROLE=proxy/);
    const status = (await (await fetch(`${sc.urls.admin}/status`)).json()) as { role: string };
    expect(status.role).toBe('proxy');
  });

  it('pollers role runs no proxy, exports poller series and the pollers’ own requests, and no traffic series', async () => {
    const sim = await startSim();
    const sc = await sidecar({
      SIDECAR_ROLE: 'pollers',
      NYLAS_API_KEY: API_KEY,
      NYLAS_API_URI: sim.url,
      NYLAS_STATUS_PAGE_URL: sim.url,
    });
    expect(sc.urls.proxy).toBe('');
    expect(await sc.sidecar.pollers.runOnce('grants')).toBe('success');
    expect(await sc.sidecar.pollers.runOnce('grants_census')).toBe('success');
    expect(await sc.sidecar.pollers.runOnce('status_page')).toBe('success');
    const s = await scrape(sc.urls.admin);
    expect(series(s, 'nylas_sidecar_role')[0]!.labels.role).toBe('pollers');
    expect(total(s, 'nylas_grants')).toBe(12);
    expect(total(s, 'nylas_poller_requests_total', { api: 'grants', code: '200' })).toBeGreaterThan(
      0,
    );
    expect(total(s, 'nylas_poller_requests_total', { api: 'status_page', code: '200' })).toBe(1);
    expect(
      [...names(s)].filter(
        (n) => n.startsWith('nylas_api_') && n !== 'nylas_api_key_auth_failures_total',
      ),
    ).toEqual([]);
    expect(series(s, 'nylas_api_key_auth_failures_total')).toEqual([
      { name: 'nylas_api_key_auth_failures_total', labels: { source: 'pollers' }, value: 0 },
    ]);
  });

  it('counts the pollers’ 429s from Nylas', async () => {
    const sim = await startSim();
    const sc = await sidecar({
      SIDECAR_ROLE: 'pollers',
      NYLAS_API_KEY: API_KEY,
      NYLAS_API_URI: sim.url,
      NYLAS_STATUS_PAGE_URL: sim.url,
    });
    sim.setScenario('rate-limited');
    // The scenario rate-limits a share of requests; a few runs see at least one 429.
    for (let i = 0; i < 20; i++) {
      await sc.sidecar.pollers.runOnce('grants');
      const s = await scrape(sc.urls.admin);
      if (total(s, 'nylas_poller_requests_total', { code: '429' }) > 0) return;
    }
    throw new Error('no 429 counted in nylas_poller_requests_total after 20 runs');
  });
});

describe('demo mode never starts by surprise', () => {
  const mode = (env: Record<string, string>) => {
    const c = loadConfig({ env });
    return { demo: c.demo, role: c.role };
  };

  it('starts only with nothing configured, or when asked', () => {
    expect(mode({})).toEqual({ demo: true, role: 'all' });
    expect(mode({ SIDECAR_LISTEN: '127.0.0.1:4100' })).toEqual({ demo: true, role: 'all' });
    expect(mode({ SIDECAR_DEMO: 'true' })).toEqual({ demo: true, role: 'all' });
    expect(mode({ SIDECAR_ROLE: 'proxy' })).toEqual({ demo: false, role: 'proxy' });
    expect(mode({ SIDECAR_ROLE: 'all' })).toEqual({ demo: false, role: 'all' });
    expect(mode({ NYLAS_API_URI: 'https://api.eu.nylas.com' }).demo).toBe(false);
    expect(mode({ NYLAS_API_KEY: 'k' }).demo).toBe(false);
    expect(
      mode({
        SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
        SIDECAR_WEBHOOK_FORWARD_URL: 'http://127.0.0.1:1/',
      }).demo,
    ).toBe(false);
    expect(mode({ SIDECAR_DEMO: 'false' }).demo).toBe(false);
    // docker-compose: the demo unless credentials or an upstream are passed through.
    expect(mode({ SIDECAR_DEMO: 'auto' }).demo).toBe(true);
    expect(mode({ SIDECAR_DEMO: 'auto', NYLAS_API_KEY: 'k' }).demo).toBe(false);
  });

  it('rejects a pollers role with no credentials and a role other than all in demo mode, naming the setting', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ env });
        return [];
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
    };
    expect(problems({ SIDECAR_ROLE: 'pollers' })).toEqual([
      'NYLAS_API_KEY=(unset): required with SIDECAR_ROLE=pollers (the grants and webhooks pollers call Nylas with it)',
    ]);
    expect(problems({ SIDECAR_ROLE: 'proxy', SIDECAR_DEMO: 'true' })[0]).toMatch(
      /^SIDECAR_ROLE="proxy": demo mode/,
    );
    expect(problems({ SIDECAR_ROLE: 'bogus' })[0]).toMatch(
      /^SIDECAR_ROLE="bogus": allowed: proxy, pollers, all/,
    );
  });
});
