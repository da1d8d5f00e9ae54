import { describe, expect, it } from 'vitest';
import { createDedupeWindow } from '../../src/webhooks/dedupe.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('duplicate notification window', () => {
  it('remembers an id for the length of the window, then forgets it', () => {
    const c = clock();
    const w = createDedupeWindow({ maxEntries: 10, ttlMs: 3_600_000, now: c.now });
    expect(w.has('n1')).toBe(false);
    w.remember('n1');
    c.advance(3_599_999);
    expect(w.has('n1')).toBe(true);
    c.advance(1);
    expect(w.has('n1')).toBe(false);
    expect(w.size).toBe(0);
  });

  it('forgets the least recently remembered id past its size', () => {
    const c = clock();
    const w = createDedupeWindow({ maxEntries: 3, ttlMs: 60_000, now: c.now });
    for (const id of ['a', 'b', 'c']) w.remember(id);
    w.remember('a'); // refreshed: now the newest
    w.remember('d');
    expect(w.size).toBe(3);
    expect(w.has('b')).toBe(false);
    expect(['a', 'c', 'd'].every((id) => w.has(id))).toBe(true);
  });

  it('stays bounded under a flood of distinct ids', () => {
    const c = clock();
    const w = createDedupeWindow({ maxEntries: 100, ttlMs: 60_000, now: c.now });
    for (let i = 0; i < 10_000; i++) w.remember(`id-${i}`);
    expect(w.size).toBe(100);
  });

  it('does not remember ids longer than any Nylas id', () => {
    const w = createDedupeWindow({ maxEntries: 10, ttlMs: 60_000, now: () => 0 });
    w.remember('x'.repeat(300));
    expect(w.size).toBe(0);
  });
});
