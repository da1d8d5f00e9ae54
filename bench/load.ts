// Load generation for the benchmark. Saturation runs use autocannon; fixed-rate latency runs use
// an open-loop generator here, because autocannon's latency histogram has 1 ms resolution and
// the targets are in tenths of a millisecond.
import { createRequire } from 'node:module';
import { Pool } from 'undici';

const require = createRequire(import.meta.url);

interface AutocannonResult {
  requests: { total: number; average: number };
  throughput: { average: number };
  errors: number;
  non2xx: number;
  duration: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

/** Requests per second at saturation (closed loop, `connections` in flight). */
export async function saturate(url: string, seconds: number, connections = 32) {
  const autocannon = require('autocannon') as Autocannon;
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return {
    requests: r.requests.total,
    rps: r.requests.total / r.duration,
    errors: r.errors + r.non2xx,
  };
}

/** Latency percentiles in milliseconds, from microsecond samples. */
export interface Percentiles {
  count: number;
  errors: number;
  p50: number;
  p99: number;
  p999: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Open-loop load at a fixed rate: request i is due at t0 + i/rate and its latency counts from
 * then, so a stall shows up in the tail instead of silently lowering the rate (no coordinated
 * omission).
 */
export async function fixedRate(url: string, rate: number, seconds: number): Promise<Percentiles> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 64, keepAliveTimeout: 30_000 });
  const path = u.pathname + u.search;
  const total = Math.round(rate * seconds);
  const samples = new Float64Array(total);
  let done = 0;
  let errors = 0;
  const t0 = performance.now() + 50;
  let next = 0;
  await new Promise<void>((resolve) => {
    const fire = (i: number) => {
      const due = t0 + (i * 1000) / rate;
      pool
        .request({ path, method: 'GET' })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode !== 200) errors++;
        })
        .catch(() => errors++)
        .finally(() => {
          samples[i] = performance.now() - due;
          if (++done === total) resolve();
        });
    };
    // Polled with setImmediate rather than timers: a timer fires up to a millisecond late, and
    // that lateness, counted in every sample, buried the sub-millisecond differences measured
    // here. This keeps the load generator's core busy, which is what it is pinned to.
    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + (next * 1000) / rate <= now) fire(next++);
      if (next < total) setImmediate(tick);
    };
    setTimeout(tick, 50);
  });
  await pool.close();
  const sorted = samples.sort();
  return {
    count: total,
    errors,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
  };
}

/** Runs `concurrency` downloads of `url` at once; returns MB/s over all of them. */
export async function downloads(
  url: string,
  concurrency: number,
): Promise<{ mbPerSec: number; bytes: number }> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: concurrency });
  const start = performance.now();
  let bytes = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const res = await pool.request({ path: u.pathname + u.search, method: 'GET' });
      for await (const c of res.body) bytes += (c as Buffer).length;
    }),
  );
  const secs = (performance.now() - start) / 1000;
  await pool.close();
  return { mbPerSec: bytes / 1048576 / secs, bytes };
}
