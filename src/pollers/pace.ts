import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms` or until `signal` aborts (then rejects with the signal's reason). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** The real sleep: a timer that an abort cancels. */
export const realSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, { signal });
};

/**
 * Spaces request starts at least `1000 / perSecond` ms apart. The Grants and Webhooks APIs allow
 * 50 requests per second per application, shared with the app itself, so the pollers keep to a
 * fraction of it.
 */
export function createPacer(opts: { perSecond: number; now: () => number; sleep: Sleep }) {
  const gap = 1000 / opts.perSecond;
  let next = 0;
  return async function pace(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const t = opts.now();
    const wait = next - t;
    next = Math.max(t, next) + gap;
    if (wait > 0) await opts.sleep(wait, signal);
  };
}
export type Pacer = ReturnType<typeof createPacer>;
