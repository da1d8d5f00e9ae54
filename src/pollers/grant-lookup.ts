import type { Logger } from '../log/index.js';
import { NylasCallError, type Grant, type NylasClient } from '../nylas/index.js';
import type { Pacer } from './pace.js';

export type GrantLookup =
  | {
      found: true;
      grant: Grant;
      source: 'poll' | 'api' | 'notification';
      /** When Nylas was asked (Unix ms), for `api`; an answer may come from the recent cache. */
      checkedAt?: number;
    }
  | { found: false; reason: 'not_found' | 'unavailable' | 'busy' };

/** The limits of /support lookups; each is a test seam with a production default. */
export interface GrantLookupLimits {
  /** A lookup must answer a human quickly; the page still renders without it. */
  timeoutMs: number;
  /**
   * Lookups asking Nylas at once. Past it a lookup is answered `busy` at once, without a call:
   * four keeps a person's few clicks working while a flood of ids costs at most four requests
   * in each lookup timeout.
   */
  maxInFlight: number;
  /** How long an answer (found or 404) is reused: short, as a grant can be re-authenticated. */
  cacheTtlMs: number;
  /** Answers kept; the oldest goes first. 1,000 small entries bound the memory a flood can take. */
  cacheSize: number;
}

export const DEFAULT_LOOKUP_LIMITS: Readonly<GrantLookupLimits> = {
  timeoutMs: 5_000,
  maxInFlight: 4,
  cacheTtlMs: 30_000,
  cacheSize: 1_000,
};

export interface GrantLookupDeps {
  client: Pick<NylasClient, 'getGrant'>;
  pace: Pick<Pacer, 'wait'>;
  logger: Logger;
  /** Wall clock, Unix ms (the `checkedAt` of an answer). */
  now: () => number;
  /** Monotonic clock, ms (cache ages). */
  clock: () => number;
  limits?: Partial<GrantLookupLimits>;
}

type Answer =
  | { found: true; grant: Grant; source: 'api'; checkedAt: number }
  | { found: false; reason: 'not_found' };

/**
 * `GET /v3/grants/{id}` for /support pages, bounded: at most `maxInFlight` at once (the same id
 * asked twice shares one call), answers remembered for `cacheTtlMs`, and each call paced in the
 * pacer's lookup lane, so that lookups never take the pollers' share of the Grants API limit.
 */
export function createGrantLookup(
  deps: GrantLookupDeps,
): (grantId: string) => Promise<GrantLookup> {
  const limits: GrantLookupLimits = { ...DEFAULT_LOOKUP_LIMITS, ...deps.limits };
  const cache = new Map<string, { at: number; answer: Answer }>();
  const inFlight = new Map<string, Promise<GrantLookup>>();

  function cached(grantId: string): Answer | undefined {
    const hit = cache.get(grantId);
    if (!hit) return undefined;
    if (deps.clock() - hit.at >= limits.cacheTtlMs) {
      cache.delete(grantId);
      return undefined;
    }
    return hit.answer;
  }

  function remember(grantId: string, answer: Answer) {
    cache.delete(grantId);
    cache.set(grantId, { at: deps.clock(), answer });
    // A Map iterates in insertion order: the first key is the oldest answer.
    while (cache.size > limits.cacheSize) cache.delete(cache.keys().next().value!);
  }

  async function ask(grantId: string): Promise<GrantLookup> {
    try {
      const signal = AbortSignal.timeout(limits.timeoutMs);
      // No retry on 429 here: a lookup that meets the rate limit gives way to the app and pollers.
      await deps.pace.wait(signal, 'lookup');
      const grant = await deps.client.getGrant(grantId, signal);
      const answer: Answer = grant
        ? { found: true, source: 'api', grant, checkedAt: deps.now() }
        : { found: false, reason: 'not_found' };
      remember(grantId, answer);
      return answer;
    } catch (err) {
      deps.logger.warn(
        {
          event: 'grant_lookup_failed',
          error_code: err instanceof NylasCallError ? err.code : 'ERR_LOOKUP_FAILED',
        },
        'grant lookup for /support failed',
      );
      return { found: false, reason: 'unavailable' };
    }
  }

  return (grantId) => {
    const hit = cached(grantId);
    if (hit) return Promise.resolve(hit);
    const running = inFlight.get(grantId);
    if (running) return running;
    if (inFlight.size >= limits.maxInFlight)
      return Promise.resolve({ found: false, reason: 'busy' });
    const p = ask(grantId).finally(() => inFlight.delete(grantId));
    inFlight.set(grantId, p);
    return p;
  };
}
