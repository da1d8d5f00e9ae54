import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { ScheduledTask } from 'node-cron';
import { nodeCron } from '../util/cron.js';
import type { Logger } from '../log/index.js';
import type { Metrics } from '../metrics/index.js';
import { NylasCallError } from '../nylas/index.js';

export type PollerName = 'grants' | 'grants_census' | 'accounts' | 'webhooks' | 'status_page';

/** What one poller does per run; it publishes its own results when it succeeds. */
export interface PollSource {
  readonly name: PollerName;
  /** One poll. Throws on failure (the lifecycle turns it into data); honours `signal`. */
  run(signal: AbortSignal): Promise<void>;
}

/** How a poller is doing, for /status and the overview page. */
export interface PollerState {
  name: PollerName;
  /** Off when the schedule is `off` or the credentials it needs are not configured. */
  enabled: boolean;
  /** Why it is off, when it is. */
  disabledReason: string | undefined;
  schedule: string | null;
  running: boolean;
  /** Unix ms. */
  lastRunAt: number | undefined;
  lastSuccessAt: number | undefined;
  lastResult: 'success' | 'error' | undefined;
  /** A stable code (ERR_NYLAS_*), never a message. */
  lastErrorCode: string | undefined;
  lastErrorStatus: number | undefined;
  consecutiveFailures: number;
  /** Scheduled runs before this time (Unix ms) are skipped: backoff or Retry-After. */
  backoffUntil: number | undefined;
  /** Typical time between runs, from the schedule. */
  intervalMs: number | undefined;
  /** Scheduled runs start this long after their cron time (jitter, fixed per process). */
  startOffsetMs: number;
}

export interface PollerOptions {
  source: PollSource;
  /** node-cron expression; null = off. */
  schedule: string | null;
  disabledReason?: string;
  metrics: Metrics;
  logger: Logger;
  tracer: Tracer;
  /** Unix ms. */
  now: () => number;
  /** [0, 1); jitter. */
  random: () => number;
  /** Deadline per run; default 80% of the schedule's interval, at most `maxDeadlineMs`. */
  deadlineMs?: number;
  /** Cap of the default deadline (default 10 minutes; the grants census needs longer). */
  maxDeadlineMs?: number;
}

export interface Poller {
  readonly name: PollerName;
  start(): void;
  /** Stops the schedule, aborts a running poll and waits for it to end. Idempotent. */
  stop(): Promise<void>;
  /**
   * Runs a poll now, ignoring backoff (tests, and the first run at start). While one is running
   * it returns that run instead of starting another.
   */
  runOnce(): Promise<'success' | 'error'>;
  /**
   * What the schedule calls: skipped while a run is in progress or backoff lasts. Resolves when
   * the run it started (if any) ends. Exposed so tests drive ticks without waiting for cron.
   */
  tick(): Promise<void>;
  state(): PollerState;
}

/** A single deadline never exceeds this, whatever the schedule: a stuck poll must end. */
const MAX_DEADLINE_MS = 10 * 60_000;
/** Backoff never grows past this (or one interval, if longer), so a recovered API is seen soon. */
const MAX_BACKOFF_MS = 30 * 60_000;
/**
 * Scheduled runs start up to this long after their cron second (a quarter of the interval at
 * most): sidecars of many deployments, or several polling instances, must not all call Nylas in
 * the same second (node-cron fires on the wall clock).
 */
const MAX_START_OFFSET_MS = 30_000;
/** A Retry-After beyond this is treated as this: a broken header must not silence a poller. */
const MAX_RETRY_AFTER_MS = 60 * 60_000;

/**
 * Delay before scheduled runs resume after `failures` consecutive failures. A single failure
 * waits for the next scheduled run; then the wait doubles per failure, with jitter (50-100%) so
 * that sidecars of many deployments do not retry in step.
 */
export function backoffDelay(failures: number, intervalMs: number, random: () => number): number {
  if (failures <= 1) return 0;
  const cap = Math.max(intervalMs, MAX_BACKOFF_MS);
  const raw = Math.min(cap, intervalMs * 2 ** (failures - 1));
  return Math.round(raw * (0.5 + 0.5 * random()));
}

/** Time between the next two runs of a cron expression (undefined when it cannot tell). */
export function scheduleInterval(expression: string): number | undefined {
  const task = nodeCron().createTask(expression, () => undefined);
  try {
    const [a, b] = task.getNextRuns(2);
    return a && b ? b.getTime() - a.getTime() : undefined;
  } finally {
    void task.destroy();
  }
}

/**
 * The one lifecycle every poller shares so that each behaves the same way: scheduled by
 * node-cron, never overlapping, a deadline per run, backoff with jitter after failures and on
 * 429, the nylas_poller_* metrics, a span per run and a log line per failed run. A run's failure
 * is recorded and returned, never thrown.
 */
export function createPoller(opts: PollerOptions): Poller {
  const { source, metrics, logger, tracer, now, random } = opts;
  const name = source.name;
  // A poller this instance does not run (its role, a missing key) needs no interval.
  const intervalMs =
    opts.schedule && !opts.disabledReason ? scheduleInterval(opts.schedule) : undefined;
  const deadlineMs =
    opts.deadlineMs ??
    Math.min(opts.maxDeadlineMs ?? MAX_DEADLINE_MS, Math.max(1000, (intervalMs ?? 60_000) * 0.8));
  const enabled = opts.schedule !== null && !opts.disabledReason;
  // One offset per poller and process, so runs stay evenly spaced.
  const startOffsetMs = Math.floor(
    random() * Math.min(MAX_START_OFFSET_MS, (intervalMs ?? 60_000) / 4),
  );

  let task: ScheduledTask | undefined;
  let offsetTimer: NodeJS.Timeout | undefined;
  let current: Promise<'success' | 'error'> | undefined;
  let abort: AbortController | undefined;
  let stopped = false;
  const st: PollerState = {
    name,
    enabled,
    disabledReason: opts.disabledReason ?? (opts.schedule === null ? 'schedule is off' : undefined),
    schedule: opts.schedule,
    running: false,
    lastRunAt: undefined,
    lastSuccessAt: undefined,
    lastResult: undefined,
    lastErrorCode: undefined,
    lastErrorStatus: undefined,
    consecutiveFailures: 0,
    backoffUntil: undefined,
    intervalMs,
    startOffsetMs,
  };

  async function execute(): Promise<'success' | 'error'> {
    const startedAt = now();
    const t0 = performance.now();
    st.running = true;
    st.lastRunAt = startedAt;
    abort = new AbortController();
    // The deadline is our own timer on our own controller, not AbortSignal.timeout() inside
    // AbortSignal.any(): a 5,000-page poll ran past its 4-minute deadline that way on Node 20
    // (most likely the timeout signal, held only by the composite, was collected before firing).
    const deadline = abort;
    const deadlineTimer = setTimeout(
      () => deadline.abort(new DOMException('poller deadline', 'TimeoutError')),
      deadlineMs,
    );
    const signal = deadline.signal;
    return tracer.startActiveSpan(
      `poll ${name}`,
      { kind: SpanKind.INTERNAL, attributes: { 'nylas_sidecar.poller': name } },
      async (span) => {
        let result: 'success' | 'error';
        try {
          await source.run(signal);
          result = 'success';
          st.consecutiveFailures = 0;
          st.backoffUntil = undefined;
          st.lastSuccessAt = now();
          st.lastErrorCode = undefined;
          st.lastErrorStatus = undefined;
          metrics.pollerLastSuccess.set({ poller: name }, st.lastSuccessAt / 1000);
        } catch (err) {
          result = 'error';
          const code = errorCode(err, signal);
          const status = err instanceof NylasCallError ? err.status : undefined;
          st.consecutiveFailures += 1;
          st.lastErrorCode = code;
          st.lastErrorStatus = status;
          const retryAfter =
            err instanceof NylasCallError && err.retryAfterMs !== undefined
              ? Math.min(err.retryAfterMs, MAX_RETRY_AFTER_MS)
              : 0;
          // Backoff counts from the run's start, so one failure still lets the next tick run;
          // Retry-After counts from now, as the server meant it.
          const backoff = backoffDelay(st.consecutiveFailures, intervalMs ?? 60_000, random);
          const until = Math.max(startedAt + backoff, now() + retryAfter);
          st.backoffUntil = backoff > 0 || retryAfter > 0 ? until : undefined;
          span.setStatus({ code: SpanStatusCode.ERROR, message: code });
          span.setAttribute('error.type', code);
          if (status !== undefined) span.setAttribute('http.response.status_code', status);
          logger.warn(
            {
              event: 'poller_failed',
              poller: name,
              error_code: code,
              status,
              nylas_error_type: err instanceof NylasCallError ? err.errorType : undefined,
              request_id: err instanceof NylasCallError ? err.requestId : undefined,
              // Messages here are built by the sidecar (paths, status codes), never upstream text.
              reason: err instanceof NylasCallError ? err.message : undefined,
              consecutive_failures: st.consecutiveFailures,
              backoff_until: st.backoffUntil ? new Date(st.backoffUntil).toISOString() : undefined,
            },
            `poller ${name} failed`,
          );
        } finally {
          clearTimeout(deadlineTimer);
          st.running = false;
          abort = undefined;
          span.end();
        }
        st.lastResult = result;
        metrics.pollerRuns.inc({ poller: name, result });
        metrics.pollerDuration.observe({ poller: name }, (performance.now() - t0) / 1000);
        return result;
      },
    );
  }

  function runOnce(): Promise<'success' | 'error'> {
    if (current) return current;
    if (stopped) return Promise.resolve('error');
    current = execute().finally(() => {
      current = undefined;
    });
    return current;
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    if (current) {
      logger.debug({ event: 'poller_overlap', poller: name }, `poller ${name} still running`);
      return;
    }
    if (st.backoffUntil !== undefined && now() < st.backoffUntil) {
      logger.debug({ event: 'poller_backoff', poller: name }, `poller ${name} backing off`);
      return;
    }
    await runOnce();
  }

  return {
    name,
    start() {
      if (!enabled || task || stopped || !opts.schedule) return;
      // The overlap guard is ours (tick); node-cron's own is kept on as a second line.
      const delayed = () => {
        clearTimeout(offsetTimer);
        offsetTimer = setTimeout(() => void tick(), startOffsetMs);
        offsetTimer.unref();
      };
      task = nodeCron().createTask(opts.schedule, delayed, {
        name: `nylas-sidecar-${name}`,
        noOverlap: true,
        logger: cronLogger(logger, name),
      });
      void task.start();
      void runOnce();
    },
    async stop() {
      stopped = true;
      clearTimeout(offsetTimer);
      // Abort first: destroying the task may wait for the tick in progress, which waits for the poll.
      abort?.abort(new Error('poller stopped'));
      const t = task;
      task = undefined;
      if (t) await t.destroy();
      if (current) await current;
    },
    runOnce,
    tick,
    state: () => ({ ...st }),
  };
}

/** node-cron's own messages (missed executions, overlap) as JSON log lines, not console text. */
function cronLogger(logger: Logger, poller: PollerName) {
  const fields = (m: unknown) => ({
    event: 'poller_schedule',
    poller,
    detail: m instanceof Error ? m.name : String(m).slice(0, 200),
  });
  return {
    info: (m: string) => logger.debug(fields(m), 'node-cron'),
    debug: (m: string | Error) => logger.debug(fields(m), 'node-cron'),
    warn: (m: string) => logger.warn(fields(m), 'node-cron'),
    error: (m: string | Error) => logger.warn(fields(m), 'node-cron'),
  };
}

function errorCode(err: unknown, signal: AbortSignal): string {
  if (err instanceof NylasCallError) return err.code;
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    return reason instanceof DOMException && reason.name === 'TimeoutError'
      ? 'ERR_POLLER_DEADLINE'
      : 'ERR_POLLER_STOPPED';
  }
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return 'ERR_POLLER_FAILED';
}
