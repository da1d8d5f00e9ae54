import { setMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { NylasCallError } from '../../src/nylas/index.js';
import {
  createPacer,
  retryRateLimited,
  type PaceLane,
  type Sleep,
} from '../../src/pollers/pace.js';

/** A signal that never aborts, shared by many waiters at once (more than Node's 10 listeners). */
function neverAborted(): AbortSignal {
  const signal = new AbortController().signal;
  setMaxListeners(0, signal);
  return signal;
}

/** A clock that only moves when the code under test sleeps. */
function fakeTime() {
  const clock = { t: 0 };
  const sleeps: number[] = [];
  const sleep: Sleep = (ms) => {
    sleeps.push(ms);
    clock.t += ms;
    return Promise.resolve();
  };
  return { clock, sleeps, sleep, now: () => clock.t };
}

/**
 * A clock that moves only when the test says, with sleeps that end when it passes their time (or
 * when their signal aborts), like real timers.
 */
function fakeTimers() {
  let t = 0;
  const timers: { at: number; fire: () => void }[] = [];
  const sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      const timer = {
        at: t + ms,
        fire: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        timers.splice(timers.indexOf(timer), 1);
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      timers.push(timer);
    });
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return {
    sleep,
    now: () => t,
    /** Moves the clock to `to`, firing each due timer at its own time. */
    async advanceTo(to: number) {
      await settle();
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > to) break;
        timers.shift();
        t = Math.max(t, next.at);
        next.fire();
        await settle();
      }
      t = to;
      await settle();
    },
  };
}

/** Queues a wait and records when it was granted (or that it was refused). */
function track(
  pacer: ReturnType<typeof createPacer>,
  now: () => number,
  signal: AbortSignal,
  lane: PaceLane = 'poll',
) {
  const r: { at?: number; aborted?: boolean } = {};
  pacer.wait(signal, lane).then(
    () => (r.at = now()),
    () => (r.aborted = true),
  );
  return r;
}

const limited = (retryAfterMs?: number) =>
  new NylasCallError('ERR_NYLAS_RATE_LIMITED', '429', { status: 429, retryAfterMs });

describe('request pacing', () => {
  it('spaces request starts so that at most `perSecond` start in any second', async () => {
    const { sleep, now, clock } = fakeTime();
    const pacer = createPacer({ perSecond: 10, now, sleep });
    const starts: number[] = [];
    for (let i = 0; i < 25; i++) {
      await pacer.wait(AbortSignal.timeout(10_000));
      starts.push(clock.t);
    }
    for (let i = 10; i < starts.length; i++)
      expect(starts[i]! - starts[i - 10]!).toBeGreaterThanOrEqual(1000);
  });

  it('does not wait when requests are already slower than the pace', async () => {
    const { sleeps, sleep, now, clock } = fakeTime();
    const pacer = createPacer({ perSecond: 10, now, sleep });
    for (let i = 0; i < 3; i++) {
      await pacer.wait(AbortSignal.timeout(10_000));
      clock.t += 500;
    }
    expect(sleeps).toEqual([]);
  });

  it("gives an aborted wait's slot to the next request", async () => {
    const ft = fakeTimers();
    const pacer = createPacer({ perSecond: 10, now: ft.now, sleep: ft.sleep });
    const never = neverAborted();
    const first = track(pacer, ft.now, never);
    const gaveUp = new AbortController();
    const second = track(pacer, ft.now, gaveUp.signal);
    const third = track(pacer, ft.now, never);
    await ft.advanceTo(50);
    gaveUp.abort(new Error('timed out'));
    await ft.advanceTo(1000);
    expect(first.at).toBe(0);
    expect(second).toEqual({ aborted: true });
    // The slot at 100 ms the aborted wait had is the third one's now (it was 200 ms).
    expect(third.at).toBe(100);
    expect(pacer.waiting()).toEqual({ poll: 0, background: 0, lookup: 0 });
  });

  it('lets no flood of lookups delay the pollers by more than a slot', async () => {
    const ft = fakeTimers();
    const pacer = createPacer({ perSecond: 10, now: ft.now, sleep: ft.sleep });
    const never = neverAborted();
    const lookups = Array.from({ length: 200 }, () => track(pacer, ft.now, never, 'lookup'));
    const poll = track(pacer, ft.now, never);
    await ft.advanceTo(300);
    expect(poll.at).toBeDefined();
    expect(poll.at!).toBeLessThanOrEqual(100);
    expect(lookups.filter((l) => l.at !== undefined)).toHaveLength(1);
  });

  it('keeps the pollers at least four fifths of the pace while lookups wait, and lookups moving', async () => {
    const ft = fakeTimers();
    const pacer = createPacer({ perSecond: 10, now: ft.now, sleep: ft.sleep });
    const never = neverAborted();
    const lookups = Array.from({ length: 200 }, () => track(pacer, ft.now, never, 'lookup'));
    // A long poll: each page asks for the next slot as soon as it has one.
    const pollStarts: number[] = [];
    let polling = true;
    void (async () => {
      while (polling) {
        await pacer.wait(never);
        pollStarts.push(ft.now());
      }
    })();
    await ft.advanceTo(10_000 - 1);
    polling = false;
    const lookupStarts = lookups.filter((l) => l.at !== undefined).map((l) => l.at!);
    // 100 slots in 10 s: at most one in five for lookups.
    expect(lookupStarts.length).toBeLessThanOrEqual(20);
    expect(lookupStarts.length).toBeGreaterThanOrEqual(19);
    expect(pollStarts.length).toBeGreaterThanOrEqual(80);
    const all = [...lookupStarts, ...pollStarts].sort((a, b) => a - b);
    for (let i = 1; i < all.length; i++) expect(all[i]! - all[i - 1]!).toBeGreaterThanOrEqual(100);
  });

  it('gives the pollers every slot when no lookup waits', async () => {
    const ft = fakeTimers();
    const pacer = createPacer({ perSecond: 10, now: ft.now, sleep: ft.sleep });
    const never = neverAborted();
    const polls = Array.from({ length: 30 }, () => track(pacer, ft.now, never));
    await ft.advanceTo(3_000);
    expect(polls.map((p) => p.at)).toEqual(Array.from({ length: 30 }, (_, i) => i * 100));
  });
});

describe('429 inside a run', () => {
  it('waits as long as Retry-After says and tries again', async () => {
    const { sleeps, sleep } = fakeTime();
    let calls = 0;
    const out = await retryRateLimited(
      () => (++calls < 3 ? Promise.reject(limited(2000)) : Promise.resolve('ok')),
      { signal: AbortSignal.timeout(10_000), sleep },
    );
    expect(out).toBe('ok');
    expect(sleeps).toEqual([2000, 2000]);
  });

  it('gives up after the retries, or at once when Retry-After is too long for one run', async () => {
    const { sleep } = fakeTime();
    await expect(
      retryRateLimited(() => Promise.reject(limited(1000)), {
        signal: AbortSignal.timeout(10_000),
        sleep,
        maxRetries: 2,
      }),
    ).rejects.toMatchObject({ code: 'ERR_NYLAS_RATE_LIMITED' });
    let calls = 0;
    await expect(
      retryRateLimited(
        () => {
          calls++;
          return Promise.reject(limited(10 * 60_000));
        },
        { signal: AbortSignal.timeout(10_000), sleep },
      ),
    ).rejects.toMatchObject({ retryAfterMs: 600_000 });
    expect(calls).toBe(1);
  });

  it('does not retry other failures', async () => {
    const { sleep } = fakeTime();
    let calls = 0;
    await expect(
      retryRateLimited(
        () => {
          calls++;
          return Promise.reject(
            new NylasCallError('ERR_NYLAS_HTTP_STATUS', '500', { status: 500 }),
          );
        },
        { signal: AbortSignal.timeout(10_000), sleep },
      ),
    ).rejects.toMatchObject({ status: 500 });
    expect(calls).toBe(1);
  });
});

describe('pacing under a late timer and two runs at once', () => {
  it('never lets more than floor(perSecond) start within 1.1 s, even when a timer fires late', async () => {
    const clock = { t: 0 };
    let late = true;
    // The first sleep overshoots by 300 ms (a busy event loop); the others are exact.
    const sleep: Sleep = (ms) => {
      clock.t += ms + (late ? 300 : 0);
      late = false;
      return Promise.resolve();
    };
    const pacer = createPacer({ perSecond: 8, now: () => clock.t, sleep });
    const starts: number[] = [];
    for (let i = 0; i < 40; i++) {
      await pacer.wait(AbortSignal.timeout(10_000));
      starts.push(clock.t);
    }
    for (let i = 8; i < starts.length; i++)
      expect(starts[i]! - starts[i - 8]!).toBeGreaterThanOrEqual(1100);
  });

  it('lets the invalid-grants run go first while the census (background) waits', async () => {
    // A fake clock for concurrent sleepers: the earliest sleeper wakes first, and the clock jumps
    // to its time (the queue is served once both runs have had their turn).
    const clock = { t: 0 };
    const pending: { at: number; wake: () => void }[] = [];
    const drive = () => {
      pending.sort((a, b) => a.at - b.at);
      const next = pending.shift();
      if (!next) return;
      clock.t = Math.max(clock.t, next.at);
      next.wake();
    };
    const sleep: Sleep = (ms) =>
      new Promise((resolve) => {
        pending.push({ at: clock.t + ms, wake: resolve });
        setImmediate(drive);
      });
    const pacer = createPacer({ perSecond: 8, now: () => clock.t, sleep });
    const order: string[] = [];
    const run = async (name: string, n: number, priority: 'poll' | 'background') => {
      for (let i = 0; i < n; i++) {
        await pacer.wait(AbortSignal.timeout(60_000), priority);
        order.push(name);
      }
    };
    await Promise.all([run('census', 5, 'background'), run('invalid', 5, 'poll')]);
    // The census may take the very first slot, before the invalid run asks; after that it waits.
    expect(order.slice(1, 6).filter((n) => n === 'invalid').length).toBeGreaterThanOrEqual(4);
  });
});
