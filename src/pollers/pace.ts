import { setTimeout as delay } from 'node:timers/promises';
import { NylasCallError } from '../nylas/index.js';

/** Waits `ms` or until `signal` aborts (then rejects with the signal's reason). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** The real sleep: a timer that an abort cancels. */
export const realSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, { signal });
};

/**
 * Who asks for a slot: the pollers, the grants census (`background`: it waits while a poll is
 * waiting, so the invalid-grants run is never held up by the slow count), or the /support grant
 * lookups that people (or anything that reaches the admin listener) trigger. Lookups are capped at
 * a share of the pace, so that the pollers keep theirs whatever the admin listener receives.
 */
export type PaceLane = 'poll' | 'background' | 'lookup';

/**
 * The window the per-second cap is kept over: a second plus a margin, because what counts is
 * when requests reach Nylas, and two requests' network delays differ by a few milliseconds.
 */
const WINDOW_MS = 1100;

/**
 * Share of the slots lookups may take: one in five. At the default 10/s that is 2 lookups a
 * second, plenty for people reading support tickets; the pollers keep at least 8/s.
 */
export const LOOKUP_SHARE = 0.2;

interface Waiter {
  lane: PaceLane;
  grant(): void;
}

/**
 * Spaces request starts at least `1000 / perSecond` ms apart, and never lets more than
 * `floor(perSecond × 1.1)` start within any window of WINDOW_MS, measured on the starts as they happened
 * (a timer that fires late must not let the next start catch up). The Grants and Webhooks APIs
 * allow 50 requests per second per application, shared with the app itself, so the pollers keep
 * to a fraction of it; concurrent runs (the invalid-grants run and the census) share one pacer.
 *
 * A slot is given out only when it is due, to a waiter still waiting: a wait that its signal
 * aborts leaves the queue and takes no slot, so the requests behind it move up. Lookups start at
 * most `lookupShare` of the pace apart from each other and, within that, before pollers (so a long
 * poll cannot starve them); pollers take every other slot.
 */
export function createPacer(opts: {
  perSecond: number;
  now: () => number;
  sleep: Sleep;
  lookupShare?: number;
}) {
  const gap = 1000 / opts.perSecond;
  const lookupGap = gap / (opts.lookupShare ?? LOOKUP_SHARE);
  // As many starts as the gap allows in a window, rounded down: 8/s gives 8 per 1.1 s (never 9 in
  // the second that a late timer bunches up), 10/s gives 11, exactly the gap's own spacing.
  const perWindow = Math.max(1, Math.floor((opts.perSecond * WINDOW_MS) / 1000 + 1e-9));
  const starts: number[] = [];
  const queues: Record<PaceLane, Waiter[]> = { poll: [], background: [], lookup: [] };
  let last = -Infinity;
  let lastLookup = -Infinity;
  let pumping = false;
  /** Ends the pump's current sleep early: a waiter arrived that may go sooner, or none is left. */
  let wake: AbortController | undefined;

  /** The lane whose head goes next and when, or undefined when nobody waits. */
  function due(): { lane: PaceLane; at: number } | undefined {
    const windowFull =
      starts.length >= perWindow ? starts[starts.length - perWindow]! + WINDOW_MS : 0;
    const slot = Math.max(last + gap, windowFull);
    const lookupAt = Math.max(slot, lastLookup + lookupGap);
    const others = queues.poll.length + queues.background.length;
    if (queues.lookup.length > 0 && (others === 0 || lookupAt <= slot))
      return { lane: 'lookup', at: lookupAt };
    if (queues.poll.length > 0) return { lane: 'poll', at: slot };
    if (queues.background.length > 0) return { lane: 'background', at: slot };
    return undefined;
  }

  // One loop hands out the slots, so that the order and spacing are decided in one place.
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      for (let next = due(); next; next = due()) {
        const t = opts.now();
        if (next.at > t) {
          wake = new AbortController();
          // Aborted by wakeUp(): the loop looks again at who is due.
          await opts.sleep(next.at - t, wake.signal).catch(() => undefined);
          wake = undefined;
          continue;
        }
        const w = queues[next.lane].shift()!;
        last = t;
        starts.push(t);
        if (starts.length > perWindow) starts.shift();
        if (next.lane === 'lookup') lastLookup = t;
        w.grant();
      }
    } finally {
      pumping = false;
    }
  }
  const wakeUp = () => wake?.abort();

  function wait(signal: AbortSignal, lane: PaceLane = 'poll'): Promise<void> {
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const q = queues[lane];
        const i = q.indexOf(w);
        if (i >= 0) q.splice(i, 1);
        wakeUp();
        reject(signal.reason as Error);
      };
      const w: Waiter = {
        lane,
        grant() {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      queues[lane].push(w);
      wakeUp();
      void pump();
    });
  }
  return {
    /** Resolves when this request may start; rejects (taking no slot) when `signal` aborts. */
    wait,
    /** Paces, calls, and waits out 429s (retryRateLimited), pacing each attempt. */
    call<T>(fn: () => Promise<T>, signal: AbortSignal, lane: PaceLane = 'poll'): Promise<T> {
      return retryRateLimited(
        async () => {
          await wait(signal, lane);
          return fn();
        },
        { signal, sleep: opts.sleep },
      );
    },
    /** Requests waiting per lane (tests, and the lookup bound). */
    waiting(): Record<PaceLane, number> {
      return {
        poll: queues.poll.length,
        background: queues.background.length,
        lookup: queues.lookup.length,
      };
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
