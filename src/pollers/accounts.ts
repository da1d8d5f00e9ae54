import type { Logger } from '../log/index.js';
import type { Metrics } from '../metrics/index.js';
import { NylasCallError, type NylasClient } from '../nylas/index.js';
import type { PollSource } from './lifecycle.js';
import { accountProvider, syncState } from './labels.js';
import type { Pacer } from './pace.js';

/** One v2 account whose sync is not `running`. */
export interface UnhealthyAccount {
  accountId: string;
  syncState: string;
  provider: string;
}

export interface AccountRestart {
  accountId: string;
  /** Unix ms. */
  at: number;
  result: 'success' | 'error';
}

/** The result of the last successful accounts poll. */
export interface AccountsSnapshot {
  at: number;
  total: number;
  counts: { syncState: string; provider: string; count: number }[];
  unhealthy: UnhealthyAccount[];
  unhealthyTotal: number;
  restartsEnabled: boolean;
  /** The most recent restarts, newest first. */
  recentRestarts: AccountRestart[];
}

/** v2's default (and documented maximum) page size for management lists. */
const PAGE_SIZE = 100;
const MAX_PAGES = 10_000;
/** Nylas documents downgrade + upgrade as the fix for these two states (enable-stopped-accounts). */
const RESTARTABLE = new Set(['stopped', 'sync-error']);
/** billing_state values of accounts that are off on purpose (v2 account-sync-status docs). */
const NOT_BILLED = new Set(['cancelled', 'deleted']);
/** At most one restart per account per hour: a sync that stops again needs a human. */
export const RESTART_COOLDOWN_MS = 60 * 60_000;
/**
 * Restarts per run. Many accounts stopping at once is an application-level problem (credentials,
 * billing) that restarts will not fix; the rest wait for the next run.
 */
const MAX_RESTARTS_PER_RUN = 20;
const RECENT_RESTARTS_KEPT = 50;

/**
 * Polls the v2 management accounts list (Basic auth `client_secret:`), counts by sync_state and
 * provider, one series per account not running, and (opt-in) restarts stopped accounts.
 */
export function createAccountsSource(deps: {
  client: NylasClient;
  metrics: Metrics;
  logger: Logger;
  maxSeries: number;
  restart: boolean;
  pace: Pacer;
  now: () => number;
}) {
  const { client, metrics, logger, maxSeries, pace, now } = deps;
  let snapshot: AccountsSnapshot | undefined;
  /** account id -> Unix ms of the last restart attempt (kept for the cooldown only). */
  const lastRestart = new Map<string, number>();
  const recentRestarts: AccountRestart[] = [];
  // With restarts on, "none yet" is 0 restarts, not an absent series (a panel shows 0).
  if (deps.restart)
    for (const result of ['success', 'error']) metrics.accountSyncRestarts.inc({ result }, 0);

  async function restartAccount(accountId: string, signal: AbortSignal): Promise<void> {
    const at = now();
    // Recorded before trying: a restart that fails half-way is not retried within the hour.
    lastRestart.set(accountId, at);
    let result: 'success' | 'error' = 'success';
    let code: string | undefined;
    try {
      await pace.call(() => client.downgradeAccount(accountId, signal), signal);
      await pace.call(() => client.upgradeAccount(accountId, signal), signal);
    } catch (err) {
      result = 'error';
      code = err instanceof NylasCallError ? err.code : 'ERR_RESTART_FAILED';
    }
    metrics.accountSyncRestarts.inc({ result });
    recentRestarts.unshift({ accountId, at, result });
    recentRestarts.length = Math.min(recentRestarts.length, RECENT_RESTARTS_KEPT);
    logger.info(
      { event: 'account_sync_restart', account_id: accountId, result, error_code: code },
      result === 'success'
        ? `restarted the sync of v2 account ${accountId} (downgrade, upgrade)`
        : `could not restart the sync of v2 account ${accountId}`,
    );
  }

  const source: PollSource = {
    name: 'accounts',
    async run(signal) {
      const counts = new Map<string, { syncState: string; provider: string; count: number }>();
      const unhealthy: UnhealthyAccount[] = [];
      const toRestart: string[] = [];
      let unhealthyTotal = 0;
      let total = 0;
      const t = now();
      for (const [id, at] of lastRestart) if (t - at >= RESTART_COOLDOWN_MS) lastRestart.delete(id);
      for (let page = 0; ; page++) {
        if (page >= MAX_PAGES) throw new Error('too many pages of accounts');
        const accounts = await pace.call(
          () => client.listAccounts({ limit: PAGE_SIZE, offset: page * PAGE_SIZE, signal }),
          signal,
        );
        for (const a of accounts) {
          total += 1;
          const state = syncState(a.sync_state);
          const provider = accountProvider(a.provider);
          const key = `${state}\u0000${provider}`;
          const c = counts.get(key);
          if (c) c.count += 1;
          else counts.set(key, { syncState: state, provider, count: 1 });
          if (state !== 'running') {
            unhealthyTotal += 1;
            if (unhealthy.length < maxSeries)
              unhealthy.push({ accountId: a.id, syncState: state, provider });
          }
          if (
            deps.restart &&
            RESTARTABLE.has(a.sync_state) &&
            // A cancelled (downgraded) account is stopped on purpose: upgrading it would restart
            // billing for an account someone cancelled.
            !NOT_BILLED.has(a.billing_state ?? '') &&
            !lastRestart.has(a.id) &&
            toRestart.length < MAX_RESTARTS_PER_RUN
          )
            toRestart.push(a.id);
        }
        if (accounts.length < PAGE_SIZE) break;
      }

      metrics.accounts.reset();
      for (const c of counts.values())
        metrics.accounts.set({ sync_state: c.syncState, provider: c.provider }, c.count);
      metrics.accountUnhealthy.reset();
      for (const a of unhealthy)
        metrics.accountUnhealthy.set({ account_id: a.accountId, sync_state: a.syncState }, 1);
      if (unhealthyTotal > unhealthy.length)
        metrics.seriesDropped.inc(
          { metric: 'nylas_account_unhealthy' },
          unhealthyTotal - unhealthy.length,
        );
      snapshot = {
        at: now(),
        total,
        counts: [...counts.values()].sort(
          (a, b) => a.provider.localeCompare(b.provider) || a.syncState.localeCompare(b.syncState),
        ),
        unhealthy,
        unhealthyTotal,
        restartsEnabled: deps.restart,
        recentRestarts,
      };

      // The poll itself succeeded; restarts are counted on their own and never fail it.
      for (const id of toRestart) {
        if (signal.aborted) break;
        await restartAccount(id, signal);
      }
    },
  };
  return {
    source,
    snapshot: () => (snapshot ? { ...snapshot, recentRestarts: [...recentRestarts] } : undefined),
  };
}
