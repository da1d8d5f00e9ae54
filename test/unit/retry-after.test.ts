import { describe, expect, it } from 'vitest';
import { parseHttpDate, parseRetryAfter } from '../../src/util/retry-after.js';

const NOW = Date.UTC(2026, 0, 1, 0, 0, 0);

describe('Retry-After', () => {
  it.each([
    ['0', 0],
    ['7', 7_000],
    ['120', 120_000],
    [' 3 ', 3_000],
    ['007', 7_000],
  ])('reads delay-seconds %j as %i ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it('reads each HTTP-date form as the time left until it', () => {
    const inThirty = new Date(NOW + 30_000).toUTCString();
    expect(inThirty).toBe('Thu, 01 Jan 2026 00:00:30 GMT');
    expect(parseRetryAfter(inThirty, NOW)).toBe(30_000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:01:00 GMT', NOW)).toBe(60_000);
    // asctime has no zone and means UTC, whatever the machine's time zone.
    expect(parseRetryAfter('Thu Jan  1 00:00:05 2026', NOW)).toBe(5_000);
    expect(parseRetryAfter('Thu Jan 01 00:00:05 2026', NOW)).toBe(5_000);
  });

  it('answers 0 for a date already past', () => {
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', NOW)).toBe(0);
  });

  it.each([
    [''],
    ['   '],
    ['soon'],
    ['1.5'],
    ['-1'],
    ['+5'],
    ['1e3'],
    ['0x10'],
    ['2026-01-01T00:00:30Z'],
    ['Thu, 01 Jan 2026 00:00:30 +0000'],
    ['Thu, 31 Feb 2026 00:00:30 GMT'],
    ['Thu, 01 Jan 2026 24:00:00 GMT'],
    ['Thu, 1 Jan 2026 00:00:30 GMT'],
  ])('is undefined for %j, so the caller uses its own backoff', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });

  it('is undefined when absent', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });

  it('puts a two-digit year more than 50 years ahead in the previous century', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(
      Date.UTC(1994, 10, 6, 8, 49, 37),
    );
    expect(parseHttpDate('Monday, 06-Nov-73 08:49:37 GMT', NOW)).toBe(
      Date.UTC(2073, 10, 6, 8, 49, 37),
    );
  });

  it('takes a leap second as the next minute', () => {
    expect(parseHttpDate('Wed, 31 Dec 2025 23:59:60 GMT', NOW)).toBe(NOW);
  });
});
