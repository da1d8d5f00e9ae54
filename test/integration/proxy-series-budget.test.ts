import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { parseMetrics, scrape, total } from '../helpers/metrics.js';
import { V2_TEMPLATES, V3_TEMPLATES } from '../../src/proxy/route-table.js';
import { LISTED_TEMPLATES } from '../../src/proxy/route-methods.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** A concrete path for a template: every parameter gets a fresh random value. */
function pathFor(template: string): string {
  return template.replace(/\{[^}]+\}/g, () => Math.random().toString(36).slice(2, 10));
}

/** Sends every template with every method, `concurrency` at a time. */
async function sweep(proxy: string, concurrency = 50): Promise<number> {
  const jobs = [...V3_TEMPLATES, ...V2_TEMPLATES].flatMap((t) =>
    METHODS.map((method) => ({ method, path: pathFor(t) })),
  );
  for (let i = 0; i < jobs.length; i += concurrency) {
    await Promise.all(
      jobs.slice(i, i + concurrency).map((j) =>
        fetch(proxy + j.path, {
          method: j.method,
          body: j.method === 'GET' || j.method === 'HEAD' ? undefined : '{}',
        }).then((r) => r.arrayBuffer()),
      ),
    );
  }
  return jobs.length;
}

describe('bounded route series', () => {
  let upstream: FakeUpstream;
  let sidecar: TestSidecar | undefined;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
  });
  afterEach(async () => {
    await sidecar?.stop();
    sidecar = undefined;
  });
  afterAll(async () => {
    await upstream?.close();
  });

  it('lists methods only for templates in the route table', () => {
    const all = new Set([...V3_TEMPLATES, ...V2_TEMPLATES]);
    expect(LISTED_TEMPLATES.filter((t) => !all.has(t))).toEqual([]);
  });

  it('stays under 5,000 series when every template is swept with every method', async () => {
    sidecar = await startTestSidecar({ NYLAS_API_URI: upstream.url });
    const sent = await sweep(sidecar.urls.proxy);
    const text = await (await fetch(`${sidecar.urls.admin}/metrics`)).text();
    const samples = parseMetrics(text);
    expect(samples.length).toBeLessThanOrEqual(5000);
    // Every request is counted, under its route or under "other".
    expect(total(samples, 'nylas_api_requests_total')).toBe(sent);
    // A method the route does not have is "other", not a series of its own.
    expect(
      total(samples, 'nylas_api_requests_total', {
        route: '/v3/grants/{grant_id}/messages/send',
        method: 'DELETE',
      }),
    ).toBe(0);
    const folded = total(samples, 'nylas_sidecar_series_dropped_total', {
      metric: 'nylas_api_requests_total',
    });
    expect(folded).toBeGreaterThan(0);
    const pairs = new Set(
      samples
        .filter((s) => s.name === 'nylas_api_requests_total' && s.labels.route !== 'other')
        .map((s) => `${s.labels.method} ${s.labels.route}`),
    );
    expect(pairs.size).toBe(150);
  });

  it('labels the first SIDECAR_MAX_ROUTE_SERIES pairs by name for good, folds later ones into other and counts them', async () => {
    sidecar = await startTestSidecar({
      NYLAS_API_URI: upstream.url,
      SIDECAR_MAX_ROUTE_SERIES: '2',
    });
    const p = sidecar.urls.proxy;
    await fetch(`${p}/v3/grants/g1/messages/m1`).then((r) => r.arrayBuffer());
    await fetch(`${p}/v3/grants/g2/messages/send`, { method: 'POST', body: '{}' }).then((r) =>
      r.arrayBuffer(),
    );
    // Budget spent: a third pair is folded, twice.
    await fetch(`${p}/v3/grants/g3/threads`).then((r) => r.arrayBuffer());
    await fetch(`${p}/v3/grants/g4/threads`).then((r) => r.arrayBuffer());
    // Admitted pairs keep their names.
    await fetch(`${p}/v3/grants/g5/messages/m2`).then((r) => r.arrayBuffer());
    // A method the route does not have is "other" without touching the budget.
    await fetch(`${p}/v3/grants/g6/messages/send`, { method: 'GET' }).then((r) => r.arrayBuffer());
    const samples = await scrape(sidecar.urls.admin);
    expect(
      total(samples, 'nylas_api_requests_total', {
        route: '/v3/grants/{grant_id}/messages/{message_id}',
        method: 'GET',
      }),
    ).toBe(2);
    expect(
      total(samples, 'nylas_api_requests_total', {
        route: '/v3/grants/{grant_id}/messages/send',
        method: 'POST',
      }),
    ).toBe(1);
    expect(
      total(samples, 'nylas_api_requests_total', { route: '/v3/grants/{grant_id}/threads' }),
    ).toBe(0);
    expect(total(samples, 'nylas_api_requests_total', { route: 'other', method: 'GET' })).toBe(3);
    expect(
      total(samples, 'nylas_sidecar_series_dropped_total', {
        metric: 'nylas_api_requests_total',
      }),
    ).toBe(2);
  });
});
