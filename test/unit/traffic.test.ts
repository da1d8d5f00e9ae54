import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/index.js';
import { createTrafficSampler, quantile } from '../../src/admin/traffic.js';
import { renderOverview } from '../../src/admin/overview.js';
import { routesTable } from '../../src/admin/overview-traffic.js';
import { buildStatusModel } from '../../src/admin/status-model.js';

const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5];

describe('traffic figures from the metric cells', () => {
  it('interpolates quantiles inside buckets like histogram_quantile', () => {
    // 10 in (0, 0.05], 10 in (0.05, 0.1]: the median is at the first bucket's top.
    expect(quantile(0.5, BUCKETS, [10, 10, 0, 0, 0, 0, 0])).toBeCloseTo(0.05);
    expect(quantile(0.9, BUCKETS, [10, 10, 0, 0, 0, 0, 0])).toBeCloseTo(0.09);
    expect(quantile(0.9, BUCKETS, [0, 0, 0, 0, 0, 0, 5])).toBe(2.5);
    expect(quantile(0.9, BUCKETS, [0, 0, 0, 0, 0, 0, 0])).toBeNull();
  });

  it('gives the last 5 minutes and since start, by route, from samples of the cells', async () => {
    let t = 1_000_000;
    const metrics = createMetrics({
      latencyBuckets: BUCKETS,
      latencyByRoute: true,
      version: 't',
      defaultMetrics: false,
    });
    const sampler = createTrafficSampler({ metrics, latencyBuckets: BUCKETS, now: () => t });
    const hit = (route: string, code: string, type: string, secs: number, n: number) => {
      metrics.apiRequests.cell('GET', route, code, type).value += n;
      const h = metrics.apiRequestDuration.cell(route, code.startsWith('5') ? '5xx' : '2xx');
      for (let i = 0; i < n; i++) metrics.apiRequestDuration.observe(h, secs);
    };
    await sampler.sample();
    // An old minute: fast and clean.
    hit('/v3/grants/{grant_id}/messages', '200', '', 0.04, 600);
    t += 60_000;
    await sampler.sample();
    // The last 5 minutes: slow, with 5xx and 429s.
    t += 5 * 60_000;
    hit('/v3/grants/{grant_id}/messages', '200', '', 0.8, 270);
    hit('/v3/grants/{grant_id}/messages', '503', 'api.internal_error', 0.3, 30);
    hit('/v3/grants/{grant_id}/events', '499', 'client_aborted', 0.3, 7);
    // Never Nylas's doing either (as the SLO rules): a client too slow to send, a refused request.
    hit('/v3/grants/{grant_id}/messages/send', '408', 'client_timeout', 0.3, 5);
    hit('other', '400', 'refused', 0, 3);
    metrics.apiRateLimited.inc({ route: '/v3/grants/{grant_id}/messages', scope: 'provider' }, 4);
    metrics.apiRateLimited.inc({ route: '/v3/grants/{grant_id}/messages', scope: 'nylas' }, 2);
    const v = await sampler.view(1_000_000);
    expect(v.last5m).toMatchObject({
      seconds: 300,
      requests: 300,
      errors: 30,
      rateLimitedNylas: 2,
      rateLimitedProvider: 4,
    });
    expect(v.last5m.rps).toBeCloseTo(1);
    expect(v.last5m.errorRatio).toBeCloseTo(0.1);
    expect(v.last5m.p90).toBeGreaterThan(0.5);
    expect(v.sinceStart.requests).toBe(900);
    expect(v.sinceStart.p50).toBeLessThan(0.05);
    expect(v.routes.map((r) => r.route)).toEqual(['/v3/grants/{grant_id}/messages']);
    expect(routesTable(v)).not.toContain('not by route');
    expect(v.history.rps.length).toBe(2);

    // The page says it: red errors and latency, the 429 split.
    const m = buildStatusModel(
      {
        pollers: [],
        grants: undefined,
        accounts: undefined,
        webhooks: undefined,
        statusPage: undefined,
        notifiedGrants: [],
      },
      [],
      t,
    );
    m.traffic = v;
    const html = renderOverview(m);
    expect(html).toMatch(/<div class="card bad" id="card-errors">/);
    expect(html).toMatch(/<div class="card bad" id="card-latency">/);
    expect(html).toContain('Nylas 2 · provider 4');
    expect(html).toContain('<svg class="spark"');
  });
});

describe('latency without routes (the default histogram)', () => {
  it("gives the overall quantiles and leaves each route's latency unknown", async () => {
    const metrics = createMetrics({ latencyBuckets: BUCKETS, version: 't', defaultMetrics: false });
    const sampler = createTrafficSampler({ metrics, latencyBuckets: BUCKETS, now: () => 0 });
    metrics.apiRequests.cell('GET', '/v3/grants', '200', '').value += 10;
    const h = metrics.apiRequestDuration.cell('2xx');
    for (let i = 0; i < 10; i++) metrics.apiRequestDuration.observe(h, 0.8);
    const v = await sampler.view(0);
    expect(v.sinceStart.p90).toBeGreaterThan(0.5);
    expect(v.routes).toEqual([
      expect.objectContaining({ route: '/v3/grants', requests: 10, p90: null }),
    ]);
    expect(routesTable(v)).toContain('p90 (not by route)');
  });
});

describe('the overview for each role', () => {
  const empty = {
    pollers: [],
    grants: undefined,
    accounts: undefined,
    webhooks: undefined,
    statusPage: undefined,
    notifiedGrants: [],
  };
  const instance = (role: 'proxy' | 'pollers' | 'all') => ({
    role,
    mode: 'live' as const,
    scenario: null,
    upstream: 'https://api.eu.nylas.com',
    version: '1.2.3',
    startedAt: new Date(0).toISOString(),
    uptimeSeconds: 3700,
  });

  it('a pollers instance says where the traffic is, and shows what it polls', () => {
    const m = buildStatusModel(empty, [], 0);
    m.instance = instance('pollers');
    m.traffic = null;
    const html = renderOverview(m);
    expect(html).toContain('This instance runs no proxy (SIDECAR_ROLE=pollers)');
    expect(html).not.toContain('id="card-rate"');
    expect(html).toContain('<span class="mode live" id="mode">LIVE</span>');
    expect(html).toContain('role pollers');
    expect(html).toContain('https://api.eu.nylas.com');
    expect(html).toContain('v1.2.3');
    expect(html).toContain('up 62 min');
  });

  it('a proxy instance shows its traffic and says the pollers run elsewhere', async () => {
    const metrics = createMetrics({ latencyBuckets: BUCKETS, version: 't', defaultMetrics: false });
    const sampler = createTrafficSampler({ metrics, latencyBuckets: BUCKETS, now: () => 0 });
    const m = buildStatusModel(empty, [], 0);
    m.instance = instance('proxy');
    m.traffic = await sampler.view(0);
    const html = renderOverview(m);
    expect(html).toContain('id="card-rate"');
    expect(html).toContain('polled by the SIDECAR_ROLE=pollers instance');
    expect(html).toContain('no pollers on this instance');
  });
});

describe('long tables on the overview', () => {
  it('fold to a few rows and say how many there are', () => {
    const invalid = Array.from({ length: 96 }, (_, i) => ({
      grantId: `g-${i}`,
      provider: 'google',
      updatedAt: undefined,
    }));
    const m = buildStatusModel(
      {
        pollers: [],
        grants: {
          at: 0,
          startedAt: 0,
          censusAt: 0,
          total: 240,
          counts: [],
          invalid,
          invalidTotal: 96,
        },
        accounts: undefined,
        webhooks: undefined,
        statusPage: undefined,
        notifiedGrants: [],
      },
      [],
      0,
    );
    const html = renderOverview(m);
    const first = html.slice(html.indexOf('Invalid grants (users'), html.indexOf('<details>'));
    expect(first.match(/<tr>/g)?.length).toBe(11); // header + 10
    expect(html).toContain('<summary>96 invalid grants, 10 shown: show all</summary>');
  });
});
