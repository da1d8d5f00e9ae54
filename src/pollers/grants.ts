import type { Metrics } from '../metrics/index.js';
import type { NylasClient } from '../nylas/index.js';
import type { PollSource } from './lifecycle.js';
import { grantProvider, grantStatus } from './labels.js';
import type { Pacer } from './pace.js';

/** One grant that needs re-authentication. Never the email. */
export interface InvalidGrant {
  grantId: string;
  provider: string;
  /** Unix seconds of the last successful authentication, when Nylas said. */
  updatedAt: number | undefined;
}

/** The result of the last successful grants poll. */
export interface GrantsSnapshot {
  /** Unix ms the poll finished. */
  at: number;
  total: number;
  counts: { status: string; provider: string; count: number }[];
  /** Invalid grants, up to SIDECAR_MAX_GRANT_SERIES. */
  invalid: InvalidGrant[];
  invalidTotal: number;
}

/** Nylas's documented maximum page size for GET /v3/grants. */
export const GRANTS_PAGE_SIZE = 200;
/**
 * A poll stops with an error past this many pages (1,000,000 grants): an upstream that keeps
 * answering full pages is broken, and the poll must end before its deadline says so.
 */
const MAX_PAGES = 5000;

export class GrantsPollError extends Error {
  readonly code = 'ERR_GRANTS_TOO_MANY_PAGES';
}

/**
 * Polls `GET /v3/grants` page by page (limit/offset), aggregating as it goes: only the counts
 * and the capped list of invalid grants outlive a page, so 50,000 grants cost one page of
 * memory. Gauges are replaced in one synchronous step after the whole list was read, so a
 * scrape never sees a half-published poll and a failed poll leaves the last good one in place.
 */
export function createGrantsSource(deps: {
  client: NylasClient;
  metrics: Metrics;
  maxSeries: number;
  pace: Pacer;
  now: () => number;
}) {
  const { client, metrics, maxSeries, pace, now } = deps;
  let snapshot: GrantsSnapshot | undefined;

  const source: PollSource = {
    name: 'grants',
    async run(signal) {
      const counts = new Map<string, { status: string; provider: string; count: number }>();
      const invalid: InvalidGrant[] = [];
      let invalidTotal = 0;
      let total = 0;
      for (let page = 0; ; page++) {
        if (page >= MAX_PAGES) throw new GrantsPollError(`more than ${MAX_PAGES} pages of grants`);
        const grants = await pace.call(
          () =>
            client.listGrants({ limit: GRANTS_PAGE_SIZE, offset: page * GRANTS_PAGE_SIZE, signal }),
          signal,
        );
        for (const g of grants) {
          total += 1;
          const status = grantStatus(g.grant_status);
          const provider = grantProvider(g.provider);
          const key = `${status}\u0000${provider}`;
          const c = counts.get(key);
          if (c) c.count += 1;
          else counts.set(key, { status, provider, count: 1 });
          if (status === 'invalid') {
            invalidTotal += 1;
            if (invalid.length < maxSeries)
              invalid.push({ grantId: g.id, provider, updatedAt: g.updated_at ?? undefined });
          }
        }
        if (grants.length < GRANTS_PAGE_SIZE) break;
      }

      // Every provider seen gets both a valid and an invalid series, so "share invalid" queries
      // have a denominator and a grant turning valid again shows as 0 instead of vanishing.
      const providers = new Set([...counts.values()].map((c) => c.provider));
      for (const provider of providers)
        for (const status of ['valid', 'invalid'])
          if (!counts.has(`${status}\u0000${provider}`))
            counts.set(`${status}\u0000${provider}`, { status, provider, count: 0 });

      metrics.grants.reset();
      for (const c of counts.values())
        metrics.grants.set({ status: c.status, provider: c.provider }, c.count);
      metrics.grantInvalid.reset();
      for (const g of invalid)
        metrics.grantInvalid.set({ grant_id: g.grantId, provider: g.provider }, 1);
      if (invalidTotal > invalid.length)
        metrics.seriesDropped.inc({ metric: 'nylas_grant_invalid' }, invalidTotal - invalid.length);

      snapshot = {
        at: now(),
        total,
        counts: [...counts.values()].sort(
          (a, b) => a.provider.localeCompare(b.provider) || a.status.localeCompare(b.status),
        ),
        invalid,
        invalidTotal,
      };
    },
  };
  return { source, snapshot: () => snapshot };
}
