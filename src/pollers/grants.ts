import type { Metrics } from '../metrics/index.js';
import type { NylasClient } from '../nylas/index.js';
import type { PollSource } from './lifecycle.js';
import { GRANT_PROVIDERS, grantProvider, grantStatus } from './labels.js';
import type { Pacer } from './pace.js';

/** One grant that needs re-authentication. Never the email. */
export interface InvalidGrant {
  grantId: string;
  provider: string;
  /** Unix seconds of the last successful authentication, when Nylas said. */
  updatedAt: number | undefined;
}

/** What the grants pollers last published. */
export interface GrantsSnapshot {
  /** Unix ms the last invalid-grants run finished. */
  at: number;
  /** Unix ms that run started: notifications received before it are superseded by it. */
  startedAt: number;
  /** Grants counted by the last census; undefined before the first one finished. */
  total: number | undefined;
  /** Unix ms the last census finished (its result is kept until the next one). */
  censusAt: number | undefined;
  /** Valid counts from the census, invalid counts from the latest run that counted them. */
  counts: { status: string; provider: string; count: number }[];
  /** Invalid grants, up to SIDECAR_MAX_GRANT_SERIES. */
  invalid: InvalidGrant[];
  invalidTotal: number;
}

/** Nylas's documented maximum page size for GET /v3/grants. */
export const GRANTS_PAGE_SIZE = 200;
/**
 * A run stops with an error past this many pages (5,000,000 grants): an upstream that keeps
 * answering full pages is broken, and the run must end before its deadline says so.
 */
const MAX_PAGES = 25_000;
/** Requests one census count may take: 2 log2(5,000,000 / 200) is about 30. */
const MAX_PROBES = 80;

export class GrantsPollError extends Error {
  readonly code = 'ERR_GRANTS_TOO_MANY_PAGES';
}

type Counts = Map<string, { status: string; provider: string; count: number }>;
const key = (status: string, provider: string) => `${status}\u0000${provider}`;

/**
 * The grants, split by how fast they change:
 *
 * - `grants` (every run, default every 5 minutes): `GET /v3/grants?grant_status=invalid`, the few
 *   grants that need re-authentication: nylas_grant_invalid{source="poll"} and the invalid counts
 *   of nylas_grants. 20,000 invalid grants are 100 pages, seconds at the pacer's rate.
 * - `grants_census` (slower, default hourly): the valid grants by provider, counted without
 *   reading them (see count()), for nylas_grants. Paging through a million grants would be 5,000
 *   pages, over ten minutes at 8 requests/s, which no 5-minute schedule could fit; counting
 *   takes a few hundred requests. Its last result is kept and its time exported
 *   (nylas_grants_census_timestamp_seconds). Its requests give way to the invalid-grants run's.
 *
 * Both hold one page of memory at most, and publish in one synchronous step after the
 * whole list was read, so a scrape never sees a half-published run and a failed run leaves the
 * last good one in place.
 */
export function createGrantsSource(deps: {
  client: NylasClient;
  metrics: Metrics;
  maxSeries: number;
  pace: Pacer;
  now: () => number;
  /** Told when an invalid-grants run has published: what it saw, and when it started. */
  onInvalidPublished?: (invalid: readonly InvalidGrant[], startedAt: number) => void;
}) {
  const { client, metrics, maxSeries, pace, now } = deps;
  let snapshot: GrantsSnapshot | undefined;
  let census: { at: number; total: number; counts: Counts } | undefined;
  let invalidCounts: Counts = new Map();
  let invalidCountsAt = 0;

  /** Pages `GET /v3/grants` (optionally filtered) and hands each grant to `each`. */
  async function page(
    signal: AbortSignal,
    filter: { grant_status?: 'invalid' | 'valid' },
    each: (g: { id: string; status: string; provider: string; updatedAt?: number }) => void,
  ): Promise<void> {
    for (let p = 0; ; p++) {
      if (p >= MAX_PAGES) throw new GrantsPollError(`more than ${MAX_PAGES} pages of grants`);
      const grants = await pace.call(
        () =>
          client.listGrants({
            limit: GRANTS_PAGE_SIZE,
            offset: p * GRANTS_PAGE_SIZE,
            signal,
            ...filter,
          }),
        signal,
      );
      for (const g of grants)
        each({
          id: g.id,
          status: grantStatus(g.grant_status),
          provider: grantProvider(g.provider),
          updatedAt: g.updated_at ?? undefined,
        });
      if (grants.length < GRANTS_PAGE_SIZE) break;
    }
  }

  function add(counts: Counts, status: string, provider: string, n = 1): void {
    const c = counts.get(key(status, provider));
    if (c) c.count += n;
    else counts.set(key(status, provider), { status, provider, count: n });
  }

  /** nylas_grants: valid counts from the census, invalid counts from the invalid-grants run. */
  function publishCounts(): GrantsSnapshot['counts'] {
    const counts: Counts = new Map();
    for (const c of census?.counts.values() ?? []) add(counts, c.status, c.provider, c.count);
    for (const c of invalidCounts.values()) add(counts, c.status, c.provider, c.count);
    // Every provider seen gets both a valid and an invalid series, so "share invalid" queries
    // have a denominator and a grant turning valid again shows as 0 instead of vanishing.
    const providers = new Set([...counts.values()].map((c) => c.provider));
    for (const provider of providers)
      for (const status of ['valid', 'invalid']) add(counts, status, provider, 0);
    metrics.grants.reset();
    for (const c of counts.values())
      metrics.grants.set({ status: c.status, provider: c.provider }, c.count);
    return [...counts.values()].sort(
      (a, b) => a.provider.localeCompare(b.provider) || a.status.localeCompare(b.status),
    );
  }

  const invalidRun: PollSource = {
    name: 'grants',
    async run(signal) {
      const startedAt = now();
      const counts: Counts = new Map();
      const invalid: InvalidGrant[] = [];
      let invalidTotal = 0;
      await page(signal, { grant_status: 'invalid' }, (g) => {
        // The filter is Nylas's; a grant it lets through that is not invalid is not counted.
        if (g.status !== 'invalid') return;
        invalidTotal += 1;
        add(counts, 'invalid', g.provider);
        if (invalid.length < maxSeries)
          invalid.push({ grantId: g.id, provider: g.provider, updatedAt: g.updatedAt });
      });
      invalidCounts = counts;
      invalidCountsAt = now();
      // Only this source's series are replaced: the listener's (source="notification") stay.
      for (const g of snapshot?.invalid ?? [])
        metrics.grantInvalid.remove({ grant_id: g.grantId, provider: g.provider, source: 'poll' });
      for (const g of invalid)
        metrics.grantInvalid.set({ grant_id: g.grantId, provider: g.provider, source: 'poll' }, 1);
      if (invalidTotal > invalid.length)
        metrics.seriesDropped.inc({ metric: 'nylas_grant_invalid' }, invalidTotal - invalid.length);
      snapshot = {
        at: invalidCountsAt,
        startedAt,
        total: census ? census.total + invalidTotal : undefined,
        censusAt: census?.at,
        counts: publishCounts(),
        invalid,
        invalidTotal,
      };
      deps.onInvalidPublished?.(invalid, startedAt);
    },
  };

  /**
   * How many grants match `filter`, from the length of pages at chosen offsets: a page at offset
   * o holds min(200, count - o) grants, so a page that is neither full nor empty gives the count,
   * and otherwise the count is above or below o. Doubling then halving finds it in about
   * 2 log2(count / 200) requests (24 for 1,000,000 grants) instead of count / 200 (5,000).
   */
  async function count(
    signal: AbortSignal,
    filter: { grant_status?: 'valid' | 'invalid'; provider?: string },
  ): Promise<number> {
    const len = async (offset: number) =>
      (
        await pace.call(
          () => client.listGrants({ limit: GRANTS_PAGE_SIZE, offset, signal, ...filter }),
          signal,
          'background',
        )
      ).length;
    let lo = 0; // count >= lo
    let hi: number | undefined; // count <= hi
    let probe = 0;
    for (let step = 0; step < MAX_PROBES; step++) {
      const n = await len(probe);
      if (n > 0 && n < GRANTS_PAGE_SIZE) return probe + n;
      if (n >= GRANTS_PAGE_SIZE) lo = probe + GRANTS_PAGE_SIZE;
      else hi = probe;
      if (hi !== undefined && lo >= hi) return hi;
      probe =
        hi === undefined
          ? Math.max(lo, probe * 2)
          : lo + Math.floor((hi - lo) / 2 / GRANTS_PAGE_SIZE) * GRANTS_PAGE_SIZE;
      if (hi !== undefined && probe >= hi) probe = lo;
    }
    throw new GrantsPollError(`grant count did not settle within ${MAX_PROBES} requests`);
  }

  const censusRun: PollSource = {
    name: 'grants_census',
    async run(signal) {
      const counts: Counts = new Map();
      // Valid grants only, by provider: the invalid-grants run counts the others, every run.
      let valid = 0;
      for (const provider of GRANT_PROVIDERS) {
        const n = await count(signal, { grant_status: 'valid', provider });
        if (n > 0) add(counts, 'valid', provider, n);
        valid += n;
      }
      const all = await count(signal, {});
      // Counted here too (a few requests), so that the census is right even when it finishes
      // before the first invalid-grants run.
      const invalidNow = await count(signal, { grant_status: 'invalid' });
      const invalidTotal = snapshot?.invalidTotal ?? invalidNow;
      // Valid grants of a provider this sidecar does not know are `other`.
      const rest = all - valid - invalidNow;
      if (rest > 0) add(counts, 'valid', 'other', rest);
      census = { at: now(), total: all - invalidNow, counts };
      metrics.grantsCensusTimestamp.set(census.at / 1000);
      const published = publishCounts();
      snapshot = snapshot
        ? { ...snapshot, total: all, censusAt: census.at, counts: published }
        : {
            at: census.at,
            startedAt: census.at,
            total: all,
            censusAt: census.at,
            counts: published,
            invalid: [],
            invalidTotal,
          };
    },
  };

  return { source: invalidRun, census: censusRun, snapshot: () => snapshot };
}
