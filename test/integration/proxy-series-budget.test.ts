import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { parseMetrics, total, type Sample } from '../helpers/metrics.js';
import { V2_TEMPLATES, V3_TEMPLATES } from '../../src/proxy/route-table.js';
import { LISTED_TEMPLATES, METHOD_BITS, routeMethodMask } from '../../src/proxy/route-methods.js';
import { proxySeriesBound } from '../../src/proxy/series-budget.js';
import { loadConfig } from '../../src/config/index.js';

const METHODS = [...METHOD_BITS.keys()];
const DEFAULT_BUCKETS = loadConfig({ env: { NYLAS_API_KEY: 'k' } }).proxy.latencyBuckets;
const TEMPLATES = [...V3_TEMPLATES, ...V2_TEMPLATES];
const has = (t: string, m: string) => (routeMethodMask(t) & METHOD_BITS.get(m)!) !== 0;
const TABLE_PAIRS = TEMPLATES.flatMap((t) =>
  METHODS.filter((m) => has(t, m)).map((m) => `${m} ${t}`),
);

/** A concrete path for a template: every parameter gets a fresh random value. */
function pathFor(template: string): string {
  return template.replace(/\{[^}]+\}/g, () => Math.random().toString(36).slice(2, 10));
}

/** Every template with every method, in the given order, `concurrency` at a time. */
async function sweep(proxy: string, reverse: boolean, concurrency = 50): Promise<number> {
  const jobs = TEMPLATES.flatMap((t) => METHODS.map((method) => ({ method, path: pathFor(t) })));
  if (reverse) jobs.reverse();
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

const namedPairs = (samples: Sample[]) =>
  new Set(
    samples
      .filter((s) => s.name === 'nylas_api_requests_total' && s.labels.route !== 'other')
      .map((s) => `${s.labels.method} ${s.labels.route}`),
  );

describe('route series bounded by the route table', () => {
  let sim: Simulator;
  let simUrl: string;
  let sidecar: TestSidecar | undefined;
  beforeAll(async () => {
    sim = createSimulator();
    simUrl = await sim.start();
  });
  afterEach(async () => {
    await sidecar?.stop();
    sidecar = undefined;
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('lists methods only for templates in the route table', () => {
    const all = new Set(TEMPLATES);
    expect(LISTED_TEMPLATES.filter((t) => !all.has(t))).toEqual([]);
  });

  /** A sidecar given the sweep in one order: what /metrics says afterwards. */
  async function sweptSidecar(reverse: boolean): Promise<{ samples: Sample[]; sent: number }> {
    sidecar = await startTestSidecar({
      NYLAS_API_URI: simUrl,
      NYLAS_API_KEY: 'nylas-sim-api-key',
      SIDECAR_INJECT_API_KEY: 'true',
      SIDECAR_ROLE: 'proxy',
    });
    const sent = await sweep(sidecar.urls.proxy, reverse);
    const samples = parseMetrics(await (await fetch(`${sidecar.urls.admin}/metrics`)).text());
    await sidecar.stop();
    sidecar = undefined;
    return { samples, sent };
  }

  it('names every pair of the table in either order, within the documented bound', async () => {
    const forward = await sweptSidecar(false);
    const backward = await sweptSidecar(true);
    for (const { samples, sent } of [forward, backward]) {
      // Every request is counted, under its route or under "other".
      expect(total(samples, 'nylas_api_requests_total')).toBe(sent);
      expect([...namedPairs(samples)].sort()).toEqual([...TABLE_PAIRS].sort());
      // A method the route does not have is "other", not a series of its own.
      expect(
        total(samples, 'nylas_api_requests_total', {
          route: '/v3/grants/{grant_id}/messages/send',
          method: 'DELETE',
        }),
      ).toBe(0);
      expect(
        total(samples, 'nylas_api_requests_total', { route: 'other', method: 'DELETE' }),
      ).toBeGreaterThan(0);
      // The bound of the README, from the route table, the buckets and the outcomes met.
      const outcomes = new Set(
        samples
          .filter((s) => s.name === 'nylas_api_requests_total')
          .map((s) => `${s.labels.code} ${s.labels.error_type}`),
      ).size;
      const proxySeries = samples.filter(
        (s) => s.labels.route !== undefined || s.name.startsWith('nylas_api_request_duration'),
      ).length;
      expect(proxySeries).toBeLessThanOrEqual(
        proxySeriesBound({
          pairs: TABLE_PAIRS.length,
          routes: TEMPLATES.length,
          buckets: DEFAULT_BUCKETS.length,
          outcomes,
        }),
      );
      // The latency histogram is by status class alone by default.
      expect(
        samples
          .filter((s) => s.name === 'nylas_api_request_duration_seconds_count')
          .every((s) => Object.keys(s.labels).join() === 'status_class'),
      ).toBe(true);
      expect(samples.length).toBeLessThanOrEqual(4000);
    }
    expect(namedPairs(backward.samples)).toEqual(namedPairs(forward.samples));
  });
});
