import { Writable } from 'node:stream';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/index.js';
import { NylasCallError } from '../../src/nylas/index.js';
import {
  backoffDelay,
  createPoller,
  scheduleInterval,
  type Poller,
  type PollSource,
} from '../../src/pollers/lifecycle.js';
import { parseMetrics, total } from '../helpers/metrics.js';

function setup(
  run: PollSource['run'],
  opts: { schedule?: string | null; deadlineMs?: number } = {},
) {
  const metrics = createMetrics({ latencyBuckets: [1], version: 't', defaultMetrics: false });
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString().split('\n')) if (l) logs.push(JSON.parse(l));
        cb();
      },
    }),
  });
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const clock = { t: Date.UTC(2026, 0, 1, 12, 0, 0) };
  const calls = { n: 0 };
  const poller = createPoller({
    source: {
      name: 'status_page',
      run: (signal) => {
        calls.n += 1;
        return run(signal);
      },
    },
    schedule: opts.schedule === undefined ? '* * * * *' : opts.schedule,
    metrics,
    logger,
    tracer: provider.getTracer('test'),
    now: () => clock.t,
    random: () => 0.5,
    deadlineMs: opts.deadlineMs,
  });
  pollers.push(poller);
  const scrape = async () => parseMetrics(await metrics.registry.metrics());
  return { poller, metrics, logs, exporter, clock, calls, scrape };
}

const pollers: Poller[] = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});

describe('poller lifecycle', () => {
  it('records a successful run in runs_total, duration and last_success from the injected clock', async () => {
    const { poller, scrape, clock } = setup(() => Promise.resolve());
    expect(await poller.runOnce()).toBe('success');
    const s = await scrape();
    expect(total(s, 'nylas_poller_runs_total', { poller: 'status_page', result: 'success' })).toBe(
      1,
    );
    expect(total(s, 'nylas_poller_duration_seconds_count', { poller: 'status_page' })).toBe(1);
    expect(total(s, 'nylas_poller_last_success_timestamp_seconds', { poller: 'status_page' })).toBe(
      clock.t / 1000,
    );
  });

  it('turns a failed run into data: no throw, error counted, one log line, last success kept', async () => {
    let fail = false;
    const { poller, scrape, logs, clock } = setup(() =>
      fail
        ? Promise.reject(
            new NylasCallError('ERR_NYLAS_HTTP_STATUS', 'GET /x answered 500', { status: 500 }),
          )
        : Promise.resolve(),
    );
    await poller.runOnce();
    const firstSuccess = clock.t / 1000;
    fail = true;
    clock.t += 60_000;
    await expect(poller.runOnce()).resolves.toBe('error');
    const s = await scrape();
    expect(total(s, 'nylas_poller_runs_total', { poller: 'status_page', result: 'error' })).toBe(1);
    expect(total(s, 'nylas_poller_last_success_timestamp_seconds')).toBe(firstSuccess);
    const failed = logs.filter((l) => l.event === 'poller_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      poller: 'status_page',
      error_code: 'ERR_NYLAS_HTTP_STATUS',
      status: 500,
    });
    expect(poller.state()).toMatchObject({ lastResult: 'error', consecutiveFailures: 1 });
  });

  it('never runs twice at once: a second runOnce or tick joins the running poll', async () => {
    let release!: () => void;
    const { poller, calls } = setup(() => new Promise<void>((r) => (release = r)));
    const a = poller.runOnce();
    const b = poller.runOnce();
    const t = poller.tick();
    await t;
    expect(calls.n).toBe(1);
    expect(poller.state().running).toBe(true);
    release();
    expect(await a).toBe('success');
    expect(await b).toBe('success');
    expect(calls.n).toBe(1);
  });

  it('aborts a run at its deadline and records it as an error', async () => {
    const { poller, logs } = setup(
      (signal) =>
        new Promise<void>((_r, reject) =>
          signal.addEventListener('abort', () =>
            reject(new Error('aborted', { cause: signal.reason })),
          ),
        ),
      { deadlineMs: 30 },
    );
    expect(await poller.runOnce()).toBe('error');
    expect(logs.find((l) => l.event === 'poller_failed')).toMatchObject({
      error_code: 'ERR_POLLER_DEADLINE',
    });
  });

  it('starts scheduled runs at a jittered offset within a quarter of the interval, at most 30 s', () => {
    // random() is 0.5 in setup: half of min(30 s, interval / 4).
    expect(setup(() => Promise.resolve()).poller.state().startOffsetMs).toBe(7_500);
    expect(
      setup(() => Promise.resolve(), { schedule: '*/5 * * * *' }).poller.state().startOffsetMs,
    ).toBe(15_000);
    expect(
      setup(() => Promise.resolve(), { schedule: '*/10 * * * * *' }).poller.state().startOffsetMs,
    ).toBe(1_250);
  });

  it('derives a deadline shorter than the schedule interval', () => {
    expect(scheduleInterval('* * * * *')).toBe(60_000);
    expect(scheduleInterval('*/5 * * * *')).toBe(300_000);
    expect(scheduleInterval('*/10 * * * * *')).toBe(10_000);
  });

  it('skips scheduled ticks until Retry-After has passed after a 429', async () => {
    let mode: 'limited' | 'ok' = 'limited';
    const { poller, calls, clock } = setup(() =>
      mode === 'limited'
        ? Promise.reject(
            new NylasCallError('ERR_NYLAS_RATE_LIMITED', '429', {
              status: 429,
              retryAfterMs: 150_000,
            }),
          )
        : Promise.resolve(),
    );
    await poller.tick();
    expect(calls.n).toBe(1);
    mode = 'ok';
    clock.t += 60_000;
    await poller.tick();
    clock.t += 60_000;
    await poller.tick();
    expect(calls.n).toBe(1);
    clock.t += 31_000;
    await poller.tick();
    expect(calls.n).toBe(2);
    expect(poller.state()).toMatchObject({ lastResult: 'success', consecutiveFailures: 0 });
    expect(poller.state().backoffUntil).toBeUndefined();
  });

  it('backs off exponentially with jitter after repeated failures, then recovers', async () => {
    const { poller, calls, clock } = setup(() => Promise.reject(new Error('boom')));
    await poller.tick(); // failure 1: the next tick still runs
    clock.t += 60_000;
    await poller.tick(); // failure 2: backoff 2 intervals * jitter 0.75 = 90 s from its start
    expect(calls.n).toBe(2);
    clock.t += 60_000;
    await poller.tick();
    expect(calls.n).toBe(2);
    clock.t += 60_000;
    await poller.tick();
    expect(calls.n).toBe(3);
  });

  it('keeps backoff within 50-100% of a doubling delay, capped', () => {
    expect(backoffDelay(1, 60_000, () => 0.9)).toBe(0);
    expect(backoffDelay(2, 60_000, () => 0)).toBe(60_000);
    expect(backoffDelay(2, 60_000, () => 0.999999)).toBeCloseTo(120_000, -1);
    expect(backoffDelay(3, 60_000, () => 0)).toBe(120_000);
    expect(backoffDelay(30, 60_000, () => 0.999999)).toBeLessThanOrEqual(30 * 60_000);
    // A schedule slower than the cap backs off by at most one interval.
    expect(backoffDelay(5, 3_600_000, () => 0.999999)).toBeLessThanOrEqual(3_600_000);
  });

  it('records a span per run, with error status on failure', async () => {
    let fail = false;
    const { poller, exporter } = setup(() =>
      fail
        ? Promise.reject(new NylasCallError('ERR_NYLAS_TRANSPORT', 'no response'))
        : Promise.resolve(),
    );
    await poller.runOnce();
    fail = true;
    await poller.runOnce();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['poll status_page', 'poll status_page']);
    expect(spans[0]!.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(spans[1]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans[1]!.attributes['error.type']).toBe('ERR_NYLAS_TRANSPORT');
  });

  it('runs once at start, and stop() aborts a running poll and waits for it', async () => {
    let aborted = false;
    const { poller, calls } = setup(
      (signal) =>
        new Promise<void>((_r, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted', { cause: signal.reason }));
          }),
        ),
    );
    poller.start();
    await expect.poll(() => calls.n).toBe(1);
    await poller.stop();
    expect(aborted).toBe(true);
    expect(poller.state().running).toBe(false);
    await poller.tick();
    expect(calls.n).toBe(1);
    await poller.stop(); // idempotent
  });

  it('does not schedule or run a poller whose schedule is off', async () => {
    const { poller, calls } = setup(() => Promise.resolve(), { schedule: null });
    poller.start();
    await new Promise((r) => setImmediate(r));
    expect(calls.n).toBe(0);
    expect(poller.state()).toMatchObject({ enabled: false, disabledReason: 'schedule is off' });
  });
});
