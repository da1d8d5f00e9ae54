import type { PollersSnapshot, PollerState } from '../pollers/index.js';
import type { KeyProblem, UpstreamErrorRecord } from '../credentials/index.js';
import type { TrafficView } from './traffic.js';

/** Which instance this is: the overview's top strip. */
export interface InstanceView {
  role: 'proxy' | 'pollers' | 'all';
  mode: 'demo' | 'live';
  /** The demo's scenario; null in live mode. */
  scenario: string | null;
  /** The Nylas API origin this instance talks to (never a credential). */
  upstream: string;
  version: string;
  startedAt: string;
  uptimeSeconds: number;
}

/** Upstream errors shown on /status and the overview: enough to correlate, not a log. */
const RECENT_ERRORS_SHOWN = 50;
/** A poller is stale after missing this many of its intervals (matches the spirit of NylasSidecarPollerStale). */
const STALE_INTERVALS = 3;

const iso = (ms: number | undefined): string | null =>
  ms === undefined ? null : new Date(ms).toISOString();

export interface PollerFreshness {
  name: string;
  enabled: boolean;
  disabledReason: string | null;
  schedule: string | null;
  running: boolean;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  lastResult: 'success' | 'error' | null;
  lastErrorCode: string | null;
  lastErrorStatus: number | null;
  consecutiveFailures: number;
  backoffUntil: string | null;
  /** Seconds since the last success; null before the first one. */
  ageSeconds: number | null;
  stale: boolean;
}

export interface RecentErrorView {
  time: string;
  method: string;
  route: string;
  code: number;
  errorType: string;
  requestId: string | null;
  grantId: string | null;
}

/**
 * The JSON of GET /status (README, Pollers and the admin pages). Field names are a contract for
 * scripts.
 */
export interface StatusModel {
  generatedAt: string;
  grants: {
    updatedAt: string;
    /** Grants counted by the last census; null before the first one finished. */
    total: number | null;
    /** When the last census finished (its counts are kept until the next one). */
    censusAt: string | null;
    counts: { status: string; provider: string; count: number }[];
    invalidTotal: number;
    invalid: {
      grantId: string;
      provider: string;
      lastAuthenticatedAt: string | null;
      source: 'poll';
      /** When the poll that saw it finished. */
      learntAt: string;
    }[];
    /** Grants seen failing with 401 in proxied traffic (the passive signal), newest first. */
    recentAuthFailures: { grantId: string; count: number; lastAt: string }[];
  } | null;
  accounts: {
    updatedAt: string;
    total: number;
    counts: { syncState: string; provider: string; count: number }[];
    unhealthyTotal: number;
    unhealthy: { accountId: string; syncState: string; provider: string }[];
    restartsEnabled: boolean;
    recentRestarts: { accountId: string; at: string; result: string }[];
  } | null;
  webhooks: {
    updatedAt: string;
    destinations: {
      id: string;
      api: string;
      description: string;
      urlHost: string;
      status: string;
      statusUpdatedAt: string | null;
      /** Since when it has been in this status (Nylas's time, or when first seen here). */
      statusSince: string;
      /** When Nylas will mark it failed unless deliveries recover (failing only). */
      markedFailedAt: string | null;
    }[];
    /** Pub/Sub and SNS notification channels. */
    channels: {
      id: string;
      type: string;
      description: string;
      status: string;
      statusSince: string;
      markedFailedAt: string | null;
    }[];
  } | null;
  statusPage: {
    updatedAt: string;
    /** The page actually read, after redirects. */
    pageUrl: string;
    /** NYLAS_API_URI's region; incidents of the other region have `ours: false`. */
    region: string | null;
    indicator: string;
    description: string;
    /** `group` is the component group's name ('' at the top level). */
    components: { name: string; group: string; status: string }[];
    /** Components not shown (nor exported): the page lists more than the sidecar keeps. */
    componentsDropped: number;
    incidents: {
      id: string;
      name: string;
      impact: string;
      status: string;
      createdAt: string | null;
      shortlink: string | null;
      region: string;
      ours: boolean;
    }[];
    maintenances: { id: string; name: string; status: string; scheduledUntil: string | null }[];
  } | null;
  /**
   * Grants whose health a verified grant.* notification told, newest first, until a poll of this
   * process confirms or corrects it (or 15 minutes pass).
   */
  notifiedGrants: {
    grantId: string;
    provider: string;
    /** invalid (grant.expired), valid (grant.updated/created), deleted (grant.deleted). */
    state: string;
    trigger: string;
    source: 'notification';
    learntAt: string;
    /** When Nylas created the notification. */
    eventTime: string;
  }[];
  pollers: PollerFreshness[];
  recentErrors: RecentErrorView[];
  /**
   * API keys whose 401s are the key's fault (wrong, revoked or rotated), not the grants'. Each is
   * named by a short keyed hash only; the key itself is never kept.
   */
  /** Set by the admin router: who this is, and the proxied traffic (null without a proxy). */
  instance?: InstanceView;
  traffic?: TrafficView | null;
  apiKeyProblems: {
    fingerprint: string;
    source: 'proxy' | 'pollers';
    since: string;
    lastFailureAt: string;
    failures: number;
    grants: number;
    nonGrantRoutes: string[];
  }[];
}

/** One poller's freshness as /status shows it. */
export function pollerFreshness(p: PollerState, now: number): PollerFreshness {
  const age = p.lastSuccessAt === undefined ? null : Math.max(0, (now - p.lastSuccessAt) / 1000);
  const limit = (p.intervalMs ?? 60_000) * STALE_INTERVALS;
  const stale =
    p.enabled &&
    (p.lastSuccessAt === undefined
      ? p.lastRunAt !== undefined && p.lastResult === 'error'
      : now - p.lastSuccessAt > limit);
  return {
    name: p.name,
    enabled: p.enabled,
    disabledReason: p.disabledReason ?? null,
    schedule: p.schedule,
    running: p.running,
    lastRunAt: iso(p.lastRunAt),
    lastSuccessAt: iso(p.lastSuccessAt),
    lastResult: p.lastResult ?? null,
    lastErrorCode: p.lastErrorCode ?? null,
    lastErrorStatus: p.lastErrorStatus ?? null,
    consecutiveFailures: p.consecutiveFailures,
    backoffUntil: iso(p.backoffUntil),
    ageSeconds: age === null ? null : Math.round(age),
    stale,
  };
}

/** One recent upstream error as /status shows it. */
export function errorView(r: UpstreamErrorRecord): RecentErrorView {
  return {
    time: new Date(r.time).toISOString(),
    method: r.method,
    route: r.route,
    code: r.code,
    errorType: r.errorType,
    requestId: r.requestId ?? null,
    grantId: r.grantId ?? null,
  };
}

/** Builds the /status model from the pollers' snapshot and the proxy's recent errors. */
export function buildStatusModel(
  snap: PollersSnapshot,
  errors: readonly UpstreamErrorRecord[],
  now: number,
  keyProblems: readonly KeyProblem[] = [],
): StatusModel {
  const { grants, accounts, webhooks, statusPage } = snap;
  const auth = new Map<string, { grantId: string; count: number; lastAt: number }>();
  const invalidNow = new Set(grants?.invalid.map((g) => g.grantId));
  const recovered = new Set<string>();
  for (const e of errors) {
    // Only 401s blamed on the grant: a wrong API key fails on every grant and is not theirs.
    if (e.code !== 401 || !e.grantId || e.blame !== 'grant') continue;
    // A grant whose 401s all came before a grants poll that no longer lists it as invalid was
    // re-authenticated (or the scenario that broke it is over): not failing any more. The ring
    // is newest first, so the first 401 seen is the grant's last.
    if (recovered.has(e.grantId)) continue;
    if (!auth.has(e.grantId) && grants && e.time < grants.at && !invalidNow.has(e.grantId)) {
      recovered.add(e.grantId);
      continue;
    }
    const a = auth.get(e.grantId);
    if (a) a.count += 1;
    else auth.set(e.grantId, { grantId: e.grantId, count: 1, lastAt: e.time });
  }
  return {
    generatedAt: new Date(now).toISOString(),
    grants: grants
      ? {
          updatedAt: new Date(grants.at).toISOString(),
          total: grants.total ?? null,
          censusAt: iso(grants.censusAt),
          counts: grants.counts,
          invalidTotal: grants.invalidTotal,
          invalid: grants.invalid.map((g) => ({
            grantId: g.grantId,
            provider: g.provider,
            lastAuthenticatedAt: g.updatedAt === undefined ? null : iso(g.updatedAt * 1000),
            source: 'poll' as const,
            learntAt: new Date(grants.at).toISOString(),
          })),
          recentAuthFailures: [...auth.values()].map((a) => ({
            grantId: a.grantId,
            count: a.count,
            lastAt: new Date(a.lastAt).toISOString(),
          })),
        }
      : null,
    accounts: accounts
      ? {
          updatedAt: new Date(accounts.at).toISOString(),
          total: accounts.total,
          counts: accounts.counts,
          unhealthyTotal: accounts.unhealthyTotal,
          unhealthy: accounts.unhealthy,
          restartsEnabled: accounts.restartsEnabled,
          recentRestarts: accounts.recentRestarts.map((r) => ({
            accountId: r.accountId,
            at: new Date(r.at).toISOString(),
            result: r.result,
          })),
        }
      : null,
    webhooks: webhooks
      ? {
          updatedAt: new Date(webhooks.at).toISOString(),
          destinations: webhooks.destinations.map((d) => ({
            id: d.id,
            api: d.api,
            description: d.description,
            urlHost: d.urlHost,
            status: d.status,
            statusUpdatedAt: d.statusUpdatedAt === undefined ? null : iso(d.statusUpdatedAt * 1000),
            statusSince: new Date(d.statusSince * 1000).toISOString(),
            markedFailedAt: d.markedFailedAt === undefined ? null : iso(d.markedFailedAt * 1000),
          })),
          channels: webhooks.channels.map((c) => ({
            id: c.id,
            type: c.type,
            description: c.description,
            status: c.status,
            statusSince: new Date(c.statusSince * 1000).toISOString(),
            markedFailedAt: c.markedFailedAt === undefined ? null : iso(c.markedFailedAt * 1000),
          })),
        }
      : null,
    statusPage: statusPage
      ? {
          updatedAt: new Date(statusPage.at).toISOString(),
          pageUrl: statusPage.pageUrl,
          region: statusPage.region ?? null,
          indicator: statusPage.indicator,
          description: statusPage.description,
          components: statusPage.components,
          componentsDropped: statusPage.componentsDropped,
          incidents: statusPage.incidents.map((i) => ({
            ...i,
            createdAt: i.createdAt ?? null,
            shortlink: i.shortlink ?? null,
          })),
          maintenances: statusPage.maintenances.map((m) => ({
            ...m,
            scheduledUntil: m.scheduledUntil ?? null,
          })),
        }
      : null,
    notifiedGrants: snap.notifiedGrants.map((n) => ({
      grantId: n.grantId,
      provider: n.provider,
      state: n.state,
      trigger: n.trigger,
      source: 'notification' as const,
      learntAt: new Date(n.receivedAt).toISOString(),
      eventTime: new Date(n.eventTime * 1000).toISOString(),
    })),
    pollers: snap.pollers.map((p) => pollerFreshness(p, now)),
    recentErrors: errors.slice(0, RECENT_ERRORS_SHOWN).map(errorView),
    apiKeyProblems: keyProblems.map((k) => ({
      fingerprint: k.fingerprint,
      source: k.source,
      since: new Date(k.since).toISOString(),
      lastFailureAt: new Date(k.lastFailureAt).toISOString(),
      failures: k.failures,
      grants: k.grants,
      nonGrantRoutes: k.nonGrantRoutes,
    })),
  };
}
