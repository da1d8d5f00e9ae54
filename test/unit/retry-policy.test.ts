import { describe, expect, it } from 'vitest';
import {
  isRetryableFailure,
  isRetryableStatus,
  MAX_RETRY_WAIT_MS,
  mayRetry,
  retryDelayMs,
} from '../../src/proxy/retry-policy.js';

describe('retry policy', () => {
  it.each([
    [429, true],
    [502, true],
    [503, true],
    [504, true],
    [200, false],
    [400, false],
    [401, false],
    [404, false],
    [500, false],
    [501, false],
  ])('status %i is retryable: %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });

  it('retries transport failures, but not the app leaving nor the sidecar’s own deadlines', () => {
    expect(isRetryableFailure('upstream_unavailable', false)).toBe(true);
    expect(isRetryableFailure('upstream_timeout', false)).toBe(true);
    expect(isRetryableFailure('client_aborted', false)).toBe(false);
    expect(isRetryableFailure('upstream_timeout', true)).toBe(false);
    expect(isRetryableFailure('client_timeout', true)).toBe(false);
  });

  it('repeats only GET and HEAD without a body, within SIDECAR_RETRY_MAX', () => {
    expect(mayRetry('GET', false, 0, 2)).toBe(true);
    expect(mayRetry('HEAD', false, 1, 2)).toBe(true);
    expect(mayRetry('GET', false, 2, 2)).toBe(false);
    expect(mayRetry('GET', false, 0, 0)).toBe(false);
    expect(mayRetry('GET', true, 0, 2)).toBe(false);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '_OTHER'])
      expect(mayRetry(method, false, 0, 2), method).toBe(false);
  });

  it('waits as long as Retry-After says, up to the cap', () => {
    expect(retryDelayMs(1, 0, 0.5)).toBe(0);
    expect(retryDelayMs(1, 2_000, 0.5)).toBe(2_000);
    expect(retryDelayMs(3, 2_000, 0.5)).toBe(2_000);
    expect(retryDelayMs(1, 60_000, 0.5)).toBe(MAX_RETRY_WAIT_MS);
    expect(MAX_RETRY_WAIT_MS).toBe(10_000);
  });

  it('otherwise backs off exponentially with full jitter', () => {
    expect(retryDelayMs(1, undefined, 0)).toBe(0);
    expect(retryDelayMs(1, undefined, 0.5)).toBe(100);
    expect(retryDelayMs(1, undefined, 0.999)).toBeCloseTo(199.8);
    expect(retryDelayMs(2, undefined, 0.5)).toBe(200);
    expect(retryDelayMs(3, undefined, 0.5)).toBe(400);
    expect(retryDelayMs(20, undefined, 0.5)).toBe(MAX_RETRY_WAIT_MS);
    for (let i = 0; i < 100; i++) {
      const wait = retryDelayMs(2, undefined);
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThan(400);
    }
  });
});
