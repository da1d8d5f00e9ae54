import { describe, expect, it } from 'vitest';
import { createRouteMatcher } from '../../src/proxy/routes.js';
import { labelRoute, proxySeriesBound } from '../../src/proxy/series-budget.js';
import { routeMethodMask, METHOD_BITS } from '../../src/proxy/route-methods.js';
import { V2_TEMPLATES, V3_TEMPLATES } from '../../src/proxy/route-table.js';
import { createRecorder, type Outcome } from '../../src/proxy/recorder.js';
import { createMetrics } from '../../src/metrics/index.js';
import { createLogger } from '../../src/log/logger.js';
import { RecentErrors } from '../../src/proxy/recent-errors.js';
import { parseMetrics } from '../helpers/metrics.js';
import { prng } from '../../src/simulator/random.js';

const match = createRouteMatcher();
const TEMPLATES = [...V3_TEMPLATES, ...V2_TEMPLATES];
const METHODS = [...METHOD_BITS.keys()];
const has = (template: string, method: string) =>
  (routeMethodMask(template) & METHOD_BITS.get(method)!) !== 0;
/** Every (method, template) pair of the route table. */
const PAIRS = TEMPLATES.flatMap((t) => METHODS.filter((m) => has(t, m)).map((m) => [m, t]));

/** A concrete path for a template; `n` varies the parameters (ids never become labels). */
const pathFor = (template: string, n: number) =>
  template.replace(/\{[^}]+\}/g, (p) => `${p.slice(1, 3)}${n.toString(36)}`);

/** The same items in another order, reproducibly (seeded Fisher-Yates). */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  const rand = prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('route methods', () => {
  it.each([
    ['/v3/grants/{grant_id}/messages/send', 'POST', true],
    ['/v3/grants/{grant_id}/messages/send', 'GET', false],
    ['/v3/grants/{grant_id}/messages', 'GET', true],
    ['/v3/grants/{grant_id}/messages', 'HEAD', true],
    ['/v3/grants/{grant_id}/messages/{message_id}', 'PUT', true],
    ['/v3/grants/{grant_id}/messages/{message_id}', 'POST', false],
    ['/v3/grants/{grant_id}/drafts/{draft_id}', 'POST', true],
    ['/v3/grants/{grant_id}/messages/clean', 'PUT', true],
    ['/v3/grants/{grant_id}/notetakers/{notetaker_id}/cancel', 'DELETE', true],
    ['/v3/grants/{grant_id}/events', 'POST', true],
    ['/a/{client_id}/accounts/{id}/downgrade', 'POST', true],
    ['/v3/grants', 'OPTIONS', false],
  ])('%s has %s: %s', (template, method, expected) => {
    expect(has(template, method)).toBe(expected);
  });
});

describe('route labels', () => {
  /** The label of every template x every method, sent in `order`, keyed by "METHOD template". */
  const labelsIn = (order: readonly (readonly [string, string])[]) => {
    const out = new Map<string, string>();
    for (const [i, [method, t]] of order.entries())
      out.set(`${method} ${t}`, labelRoute(match(pathFor(t, i)), method).route);
    return out;
  };
  const every = TEMPLATES.flatMap((t) => METHODS.map((m) => [m, t] as const));

  it('names every pair of the route table, whatever order requests come in', () => {
    const forward = labelsIn(every);
    const backward = labelsIn([...every].reverse());
    const random = labelsIn(shuffled(every, 29));
    expect(backward).toEqual(forward);
    expect(random).toEqual(forward);
    // Every pair of the table keeps its name; every other method is "other".
    for (const [method, t] of every)
      expect(forward.get(`${method} ${t}`), `${method} ${t}`).toBe(has(t, method) ? t : 'other');
    expect([...forward.values()].filter((r) => r !== 'other')).toHaveLength(PAIRS.length);
  });

  it('keeps the grant segment and leaves unknown paths as other', () => {
    const m = labelRoute(match('/v3/grants/g2/threads'), 'GET');
    expect(m.route).toBe('/v3/grants/{grant_id}/threads');
    expect(m.grantSegment).toBe('g2');
    expect(labelRoute(match('/v3/grants/g/messages/send'), 'DELETE').route).toBe('other');
    expect(labelRoute(match('/nope'), 'GET').route).toBe('other');
  });
});

describe('series of a full sweep, at the recorder', () => {
  const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 90, 120];
  /** What a request can end in under the stress fault mixes: success, 500, two 429s, HTML 502. */
  const OUTCOMES: [number, string, boolean][] = [
    [200, '', false],
    [500, 'api.internal_error', false],
    [429, 'rate_limit_error', false],
    [429, 'provider_error', true],
    [502, 'unparsed', false],
  ];

  /** Records every template x method x outcome in `order`; returns the exposition's samples. */
  async function sweep(order: readonly (readonly [string, string])[], latencyByRoute = false) {
    const metrics = createMetrics({
      latencyBuckets: BUCKETS,
      latencyByRoute,
      version: 't',
      defaultMetrics: false,
      role: 'proxy',
    });
    const record = createRecorder({
      metrics,
      logger: createLogger({ level: 'silent' }),
      recentErrors: new RecentErrors(),
    });
    for (const [i, [method, t]] of order.entries()) {
      for (const [code, errorType, providerError] of OUTCOMES) {
        const m = labelRoute(match(pathFor(t, i)), method);
        const o: Outcome = {
          method,
          route: m.route,
          grantScoped: m.grantScoped,
          grantSegment: m.grantSegment,
          code,
          responded: true,
          errorType,
          providerError,
          requestId: undefined,
          responseBytes: 10,
          providerRequests: 1,
          gmailQuotaUnits: 1,
          durationSeconds: (i % 40) / 10,
          ids: undefined,
          headers: [],
        };
        record(o);
      }
    }
    return parseMetrics(await metrics.registry.metrics());
  }
  const every = TEMPLATES.flatMap((t) => METHODS.map((m) => [m, t] as const));
  const pairsOf = (samples: ReturnType<typeof parseMetrics>) =>
    new Set(
      samples
        .filter((s) => s.name === 'nylas_api_requests_total')
        .map((s) => `${s.labels.method} ${s.labels.route}`),
    );

  it('exports the same route labels whatever order the pairs arrive in', async () => {
    const a = await sweep(every);
    const b = await sweep(shuffled(every, 7));
    expect(pairsOf(b)).toEqual(pairsOf(a));
    const named = [...pairsOf(a)].filter((p) => !p.endsWith(' other'));
    expect(named.sort()).toEqual(PAIRS.map(([m, t]) => `${m} ${t}`).sort());
  });

  it('stays within the documented bound, by status class and with SIDECAR_LATENCY_BY_ROUTE', async () => {
    const inputs = {
      pairs: PAIRS.length,
      routes: TEMPLATES.length,
      buckets: BUCKETS.length,
      outcomes: OUTCOMES.length,
    };
    const proxyFamilies = (samples: ReturnType<typeof parseMetrics>) =>
      samples.filter((s) => s.labels.route !== undefined || s.name.startsWith('nylas_api_request'))
        .length;
    const byClass = await sweep(every);
    const bound = proxySeriesBound(inputs);
    expect(proxyFamilies(byClass)).toBeLessThanOrEqual(bound);
    // The bound is tight where it counts: each pair met each outcome once, so the requests
    // counter holds exactly (pairs + one "other" per method) x outcomes.
    expect(byClass.filter((s) => s.name === 'nylas_api_requests_total')).toHaveLength(
      (PAIRS.length + METHODS.length) * OUTCOMES.length,
    );
    // By status class alone: 3 classes seen (2xx, 4xx, 5xx) x (12 buckets + 3).
    expect(
      byClass.filter((s) => s.name.startsWith('nylas_api_request_duration_seconds')),
    ).toHaveLength(3 * (BUCKETS.length + 3));
    const byRoute = await sweep(every, true);
    expect(proxyFamilies(byRoute)).toBeLessThanOrEqual(
      proxySeriesBound({ ...inputs, latencyByRoute: true }),
    );
    expect(
      byRoute.filter((s) => s.name.startsWith('nylas_api_request_duration_seconds')),
    ).toHaveLength((TEMPLATES.length + 1) * 3 * (BUCKETS.length + 3));
  });
});
