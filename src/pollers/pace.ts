import { setTimeout as delay } from 'node:timers/promises';
import { NylasCallError } from '../nylas/index.js';

/** Waits `ms` or until `signal` aborts (then rejects with the signal's reason). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** The real sleep: a timer that an abort cancels. */
export const realSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, { signal });
};

/** `background` requests (the grants census) wait while a `normal` one is waiting. */
export type Priority = 'normal' | 'background';

/**
 * The window the per-second cap is kept over: a second plus a margin, because what counts is
 * when requests reach Nylas, and two requests' network delays differ by a few milliseconds.
 */
const WINDOW_MS = 1100;

/**
 * Spaces request starts at least `1000 / perSecond` ms apart, and never lets more than
 * `floor(perSecond)` start within any one second (plus a margin), measured on the starts as they happened (a
 * timer that fires late must not let the next start catch up). The Grants and Webhooks APIs allow
 * 50 requests per second per application, shared with the app itself, so the pollers keep to a
 * fraction of it; concurrent runs (the invalid-grants run and the census) share one pacer.
 */
export function createPacer(opts: { perSecond: number; now: () => number; sleep: Sleep }) {
  const gap = 1000 / opts.perSecond;
  const perWindow = Math.max(1, Math.floor(opts.perSecond));
  const starts: number[] = [];
  let next = 0;
  let urgentWaiting = 0;
  async function wait(signal: AbortSignal, priority: Priority = 'normal'): Promise<void> {
    if (priority === 'normal') urgentWaiting += 1;
    try {
      await take(signal, priority);
    } finally {
      if (priority === 'normal') urgentWaiting -= 1;
    }
  }
  async function take(signal: AbortSignal, priority: Priority): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const t = opts.now();
      const windowFull =
        starts.length >= perWindow ? starts[starts.length - perWindow]! + WINDOW_MS : 0;
      // A background caller (the census) lets a waiting normal one (the invalid-grants run) go first.
      const yieldTo = priority === 'background' && urgentWaiting > 0 ? gap : 0;
      const earliest = Math.max(next, windowFull) + yieldTo;
      if (earliest <= t) {
        starts.push(t);
        if (starts.length > perWindow) starts.shift();
        next = t + gap;
        return;
      }
      // Several waiters may wake together: each checks again, and only one takes the slot.
      await opts.sleep(earliest - t, signal);
    }
  }
  return {
    wait,
    /** Paces, calls, and waits out 429s (retryRateLimited), pacing each attempt. */
    call<T>(fn: () => Promise<T>, signal: AbortSignal, priority?: Priority): Promise<T> {
      return retryRateLimited(
        async () => {
          await wait(signal, priority);
          return fn();
        },
        { signal, sleep: opts.sleep },
      );
    },
  };
}
/** Spaces requests to the application-scoped Nylas APIs. */
export type Pacer = ReturnType<typeof createPacer>;

/** A 429 inside a run is waited out only this long; longer ones end the run (lifecycle backoff). */
const MAX_IN_RUN_WAIT_MS = 30_000;

/**
 * Calls `fn`, and on a 429 waits as long as Retry-After says (or 1 s, 2 s, 4 s without one) and
 * tries again, up to `maxRetries` times. A long poll (250 pages of grants) then survives a burst
 * of the app's own traffic using the shared limit, instead of starting over at the next run.
 */
export async function retryRateLimited<T>(
  fn: () => Promise<T>,
  opts: { signal: AbortSignal; sleep: Sleep; maxRetries?: number },
): Promise<T> {
  const max = opts.maxRetries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof NylasCallError) || err.code !== 'ERR_NYLAS_RATE_LIMITED') throw err;
      const wait = err.retryAfterMs ?? 1000 * 2 ** attempt;
      if (attempt >= max || wait > MAX_IN_RUN_WAIT_MS) throw err;
      await opts.sleep(wait, opts.signal);
    }
  }
}
