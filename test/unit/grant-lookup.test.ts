import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { NylasCallError, type Grant } from '../../src/nylas/index.js';
import { createGrantLookup, type GrantLookupLimits } from '../../src/pollers/grant-lookup.js';

const logger = createLogger({ level: 'silent' });

/** A Nylas client that knows some grants, counts its calls, and can hold them until released. */
function fakeNylas(known: string[]) {
  const calls: string[] = [];
  const held: (() => void)[] = [];
  let hold = false;
  let failing = false;
  return {
    calls,
    hold(on: boolean) {
      hold = on;
    },
    fail(on: boolean) {
      failing = on;
    },
    release() {
      for (const r of held.splice(0)) r();
    },
    client: {
      async getGrant(grantId: string): Promise<Grant | undefined> {
        calls.push(grantId);
        if (hold) await new Promise<void>((r) => held.push(r));
        if (failing) throw new NylasCallError('ERR_NYLAS_HTTP_STATUS', '500', { status: 500 });
        return known.includes(grantId)
          ? { id: grantId, provider: 'google', grant_status: 'valid' }
          : undefined;
      },
    },
  };
}

function setup(known: string[], limits: Partial<GrantLookupLimits> = {}) {
  const nylas = fakeNylas(known);
  const clock = { t: 1_000 };
  const paced: string[] = [];
  const lookup = createGrantLookup({
    client: nylas.client,
    pace: {
      wait: (_signal, lane) => {
        paced.push(lane ?? 'poll');
        return Promise.resolve();
      },
    },
    logger,
    now: () => 1_700_000_000_000 + clock.t,
    clock: () => clock.t,
    limits,
  });
  return { nylas, clock, paced, lookup };
}

describe('/support grant lookups', () => {
  it('paces every call in the lookup lane', async () => {
    const { lookup, paced } = setup(['g1']);
    await lookup('g1');
    await lookup('nope');
    expect(paced).toEqual(['lookup', 'lookup']);
  });

  it('reuses a found or not-found answer for the cache TTL, then asks again', async () => {
    const { lookup, nylas, clock } = setup(['g1'], { cacheTtlMs: 30_000 });
    const first = await lookup('g1');
    expect(first).toMatchObject({ found: true, source: 'api', checkedAt: 1_700_000_001_000 });
    expect(await lookup('nope')).toEqual({ found: false, reason: 'not_found' });
    clock.t += 29_999;
    expect(await lookup('g1')).toEqual(first);
    expect(await lookup('nope')).toEqual({ found: false, reason: 'not_found' });
    expect(nylas.calls).toEqual(['g1', 'nope']);
    clock.t += 1;
    expect(await lookup('g1')).toMatchObject({ found: true, checkedAt: 1_700_000_031_000 });
    expect(nylas.calls).toEqual(['g1', 'nope', 'g1']);
  });

  it('keeps at most cacheSize answers, dropping the oldest', async () => {
    const { lookup, nylas } = setup([], { cacheSize: 3 });
    for (const id of ['a', 'b', 'c', 'd']) await lookup(id);
    nylas.calls.length = 0;
    for (const id of ['b', 'c', 'd']) await lookup(id);
    expect(nylas.calls).toEqual([]);
    await lookup('a');
    expect(nylas.calls).toEqual(['a']);
  });

  it('answers busy at once, without a call, past maxInFlight; the same id shares one call', async () => {
    const { lookup, nylas } = setup(['g1'], { maxInFlight: 2 });
    nylas.hold(true);
    const a = lookup('g1');
    const b = lookup('x');
    const again = lookup('g1');
    const flood = await Promise.all(Array.from({ length: 50 }, (_, i) => lookup(`id-${i}`)));
    expect(flood.every((r) => !r.found && r.reason === 'busy')).toBe(true);
    expect(nylas.calls).toEqual(['g1', 'x']);
    nylas.hold(false);
    nylas.release();
    expect(await a).toMatchObject({ found: true });
    expect(await again).toBe(await a);
    expect(await b).toEqual({ found: false, reason: 'not_found' });
    // Slots are free again once the calls end.
    expect(await lookup('y')).toEqual({ found: false, reason: 'not_found' });
  });

  it('does not remember a failed lookup', async () => {
    const { lookup, nylas } = setup(['g1']);
    nylas.fail(true);
    expect(await lookup('g1')).toEqual({ found: false, reason: 'unavailable' });
    nylas.fail(false);
    expect(await lookup('g1')).toMatchObject({ found: true });
    expect(nylas.calls).toEqual(['g1', 'g1']);
  });
});
