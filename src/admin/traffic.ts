import type { Metrics } from '../metrics/index.js';

// The overview's traffic figures come from what the metrics already hold: a timer reads the
// proxy's counter and histogram cells (metrics/fast.ts) every few seconds into a ring of totals;
// rates, ratios and quantiles are differences between two samples. The proxy's hot path does
// nothing more than before.

/** Seconds between samples: the sparkline step. */
export const SAMPLE_SECONDS = 10;
/** History kept: the sparklines' width (30 min) plus a sample. */
const KEEP_SAMPLES = (30 * 60) / SAMPLE_SECONDS + 1;
/** The "now" window of the overview (matches the 5m windows of the alert rules). */
export const WINDOW_SECONDS = 5 * 60;

interface Totals {
  /** Requests that count for availability: all but the ones the app itself abandoned. */
  requests: number;
  /** 5xx, including the sidecar's own 502/504 for transport failures. */
  errors: number;
  /** Every failed call (4xx, 5xx, transport), as the recent-errors table lists them. */
  failed: number;
  /** Per bucket (not cumulative), over every route and method. */
  buckets: Float64Array;
}

interface Sample extends Totals {
  at: number;
  nylas429: number;
  provider429: number;
  routes: Map<string, Totals>;
}

/** One window's figures (last 5 minutes, or since start). */
export interface TrafficWindow {
  seconds: number;
  requests: number;
  rps: number;
  errors: number;
  /** errors / requests; null without requests. */
  errorRatio: number | null;
  failed: number;
  rateLimitedNylas: number;
  rateLimitedProvider: number;
  /** Seconds; null without requests. Above the top bucket, the top bound. */
  p50: number | null;
  p90: number | null;
}

export interface RouteTraffic {
  route: string;
  rps: number;
  requests: number;
  errors: number;
  failed: number;
  p90: number | null;
}

/** What / and /status show about the proxied traffic. */
export interface TrafficView {
  sampledAt: string;
  last5m: TrafficWindow;
  sinceStart: TrafficWindow;
  /** Routes seen in the last 5 minutes, busiest first. */
  routes: RouteTraffic[];
  /** Per-sample series for sparklines, oldest first (step SAMPLE_SECONDS). */
  history: {
    stepSeconds: number;
    rps: number[];
    errorRatio: (number | null)[];
    p90: (number | null)[];
    rateLimited: number[];
  };
}

/**
 * The q-quantile of a histogram given per-bucket counts, interpolating linearly inside a bucket as
 * Prometheus's histogram_quantile does (the first bucket starts at 0).
 */
export function quantile(
  q: number,
  bounds: readonly number[],
  counts: ArrayLike<number>,
): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total <= 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (seen + c >= rank && c > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? null;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return bounds[bounds.length - 1] ?? null;
}

const emptyTotals = (n: number): Totals => ({
  requests: 0,
  errors: 0,
  failed: 0,
  buckets: new Float64Array(n),
});

function minus(a: Totals, b: Totals | undefined): Totals {
  const buckets = new Float64Array(a.buckets.length);
  for (let i = 0; i < buckets.length; i++) buckets[i] = a.buckets[i]! - (b?.buckets[i] ?? 0);
  return {
    requests: a.requests - (b?.requests ?? 0),
    errors: a.errors - (b?.errors ?? 0),
    failed: a.failed - (b?.failed ?? 0),
    buckets,
  };
}

export interface TrafficSamplerDeps {
  metrics: Metrics;
  latencyBuckets: readonly number[];
  /** Unix ms; tests move it. */
  now?: () => number;
  /** Milliseconds between samples (default SAMPLE_SECONDS; screenshots use finer steps). */
  sampleMs?: number;
}

/** Samples the proxy's metric cells on a timer into a ring, and summarises them. */
export function createTrafficSampler(deps: TrafficSamplerDeps) {
  const { metrics } = deps;
  const bounds = [...deps.latencyBuckets];
  const now = deps.now ?? Date.now;
  const ring: Sample[] = [];
  const step = deps.sampleMs ?? SAMPLE_SECONDS * 1000;
  // The ring covers 30 minutes whatever the step.
  const keep = Math.max(KEEP_SAMPLES, Math.ceil((30 * 60_000) / step) + 1);
  let timer: ReturnType<typeof setInterval> | undefined;
  let sampling: Promise<void> | undefined;

  async function read(): Promise<Sample> {
    const at = now();
    const n = bounds.length + 1;
    const all = emptyTotals(n);
    const routes = new Map<string, Totals>();
    const routeOf = (r: string) => {
      let t = routes.get(r);
      if (!t) routes.set(r, (t = emptyTotals(n)));
      return t;
    };
    metrics.apiRequests.forEachCell((c) => {
      const code = Number(c.labels.code);
      const type = c.labels.error_type;
      // As the SLO rules: requests that say nothing about Nylas (scripts/alerts/rules.mjs).
      if (type === 'client_aborted' || type === 'client_timeout' || type === 'refused') return;
      const r = routeOf(c.labels.route ?? 'other');
      r.requests += c.value;
      all.requests += c.value;
      if (type !== '') {
        r.failed += c.value;
        all.failed += c.value;
      }
      if (code >= 500) {
        r.errors += c.value;
        all.errors += c.value;
      }
    });
    metrics.apiRequestDuration.forEachCell((c) => {
      // The histogram carries a route only with SIDECAR_LATENCY_BY_ROUTE; without it a route's
      // latency is unknown here (null), not lumped into "other".
      const r = c.labels.route === undefined ? undefined : routeOf(c.labels.route);
      for (let i = 0; i < n; i++) {
        if (r) r.buckets[i]! += c.counts[i]!;
        all.buckets[i]! += c.counts[i]!;
      }
    });
    let nylas429 = 0;
    let provider429 = 0;
    for (const v of (await metrics.apiRateLimited.get()).values) {
      if (v.labels.scope === 'provider') provider429 += v.value;
      else nylas429 += v.value;
    }
    return { at, ...all, nylas429, provider429, routes };
  }

  async function sample(): Promise<void> {
    if (sampling) return sampling;
    sampling = (async () => {
      try {
        ring.push(await read());
        if (ring.length > keep) ring.shift();
      } finally {
        sampling = undefined;
      }
    })();
    return sampling;
  }

  function window(latest: Sample, base: Sample | undefined, seconds: number): TrafficWindow {
    const d = minus(latest, base);
    return {
      seconds: Math.round(seconds),
      requests: d.requests,
      rps: seconds > 0 ? d.requests / seconds : 0,
      errors: d.errors,
      errorRatio: d.requests > 0 ? d.errors / d.requests : null,
      failed: d.failed,
      rateLimitedNylas: latest.nylas429 - (base?.nylas429 ?? 0),
      rateLimitedProvider: latest.provider429 - (base?.provider429 ?? 0),
      p50: quantile(0.5, bounds, d.buckets),
      p90: quantile(0.9, bounds, d.buckets),
    };
  }

  return {
    /** Takes the first sample and samples every SAMPLE_SECONDS until stop(). */
    start(): void {
      void sample();
      timer = setInterval(() => void sample(), step);
      timer.unref();
    },
    stop(): void {
      clearInterval(timer);
    },
    /** Takes a sample now (tests; the page reads one fresh sample per view). */
    sample,

    /** The figures for the page, from a fresh reading against the ring. */
    async view(startedAt: number): Promise<TrafficView> {
      const latest = await read();
      const t = latest.at;
      // The 5-minute base: the newest sample at least 5 minutes old, else the first one.
      let base: Sample | undefined;
      for (const s of ring) if (t - s.at >= WINDOW_SECONDS * 1000) base = s;
      base ??= ring[0];
      const baseSeconds = base ? (t - base.at) / 1000 : 0;
      const routes: RouteTraffic[] = [];
      for (const [route, tot] of latest.routes) {
        const d = minus(tot, base?.routes.get(route));
        if (d.requests <= 0) continue;
        routes.push({
          route,
          requests: d.requests,
          rps: baseSeconds > 0 ? d.requests / baseSeconds : 0,
          errors: d.errors,
          failed: d.failed,
          p90: quantile(0.9, bounds, d.buckets),
        });
      }
      routes.sort((a, b) => b.requests - a.requests || a.route.localeCompare(b.route));
      const series = [...ring, latest];
      const history: TrafficView['history'] = {
        stepSeconds: step / 1000,
        rps: [],
        errorRatio: [],
        p90: [],
        rateLimited: [],
      };
      for (let i = 1; i < series.length; i++) {
        const a = series[i - 1]!;
        const b = series[i]!;
        const secs = (b.at - a.at) / 1000;
        if (secs <= 0) continue;
        const d = minus(b, a);
        history.rps.push(d.requests / secs);
        history.errorRatio.push(d.requests > 0 ? d.errors / d.requests : null);
        history.p90.push(quantile(0.9, bounds, d.buckets));
        history.rateLimited.push((b.nylas429 + b.provider429 - a.nylas429 - a.provider429) / secs);
      }
      return {
        sampledAt: new Date(t).toISOString(),
        last5m: window(latest, base, baseSeconds),
        sinceStart: window(latest, undefined, Math.max(0, (t - startedAt) / 1000)),
        routes,
        history,
      };
    },
  };
}

export type TrafficSampler = ReturnType<typeof createTrafficSampler>;
