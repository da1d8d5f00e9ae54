import type { Metrics } from '../metrics/index.js';

/** The grant notifications that change a grant's health (Nylas's v3 grant.* triggers). */
export const GRANT_HEALTH_TRIGGERS = [
  'grant.expired',
  'grant.deleted',
  'grant.updated',
  'grant.created',
] as const;
export type GrantHealthTrigger = (typeof GRANT_HEALTH_TRIGGERS)[number];

/** What a notification says about a grant. */
export type NotifiedState = 'invalid' | 'valid' | 'deleted';

/** One grant whose health a verified notification told, until a poll confirms or corrects it. */
export interface NotifiedGrant {
  grantId: string;
  provider: string;
  state: NotifiedState;
  trigger: GrantHealthTrigger;
  /** Unix ms the listener received it. */
  receivedAt: number;
  /** Unix seconds Nylas created it (the CloudEvent `time`). */
  eventTime: number;
}

/**
 * How long a notification's word stands without a poll of this process to confirm or correct it.
 * In a `proxy` instance no poll ever comes: by then the pollers instance has polled (its default
 * schedule is every 5 minutes, so 15 minutes is three runs) and rules read its series instead.
 */
export const NOTIFICATION_TTL_MS = 15 * 60_000;

/** The state a trigger means; `grant.updated` is a re-authentication (a valid grant again). */
export function stateOf(trigger: GrantHealthTrigger): NotifiedState {
  return trigger === 'grant.expired'
    ? 'invalid'
    : trigger === 'grant.deleted'
      ? 'deleted'
      : 'valid';
}

export function isGrantHealthTrigger(t: string): t is GrantHealthTrigger {
  return (GRANT_HEALTH_TRIGGERS as readonly string[]).includes(t);
}

/**
 * Grant health learnt from notifications: nylas_grant_invalid{source="notification"}
 * is 1 for a grant Nylas says expired, 0 for one it says was re-authenticated, created or deleted,
 * the moment a verified delivery arrives. The next invalid-grants poll in this process supersedes
 * every entry received before it started (the poll's nylas_grant_invalid{source="poll"} then
 * confirms or corrects it); entries no poll superseded expire after NOTIFICATION_TTL_MS.
 */
export function createGrantHealth(deps: {
  metrics: Metrics;
  maxSeries: number;
  now: () => number;
  ttlMs?: number;
}) {
  const { metrics, maxSeries, now } = deps;
  const ttl = deps.ttlMs ?? NOTIFICATION_TTL_MS;
  const entries = new Map<string, NotifiedGrant>();

  const labels = (g: NotifiedGrant) => ({
    grant_id: g.grantId,
    provider: g.provider,
    source: 'notification',
  });
  function drop(g: NotifiedGrant): void {
    entries.delete(g.grantId);
    metrics.grantInvalid.remove(labels(g));
  }
  function sweep(): void {
    const cutoff = now() - ttl;
    for (const g of entries.values()) if (g.receivedAt < cutoff) drop(g);
  }

  return {
    /** Records a verified grant notification; false when the series cap was reached. */
    notify(n: Omit<NotifiedGrant, 'state' | 'receivedAt'>): boolean {
      sweep();
      const prev = entries.get(n.grantId);
      // Notifications can arrive out of order (retries); an older event never overrides a newer.
      if (prev && prev.eventTime > n.eventTime) return true;
      if (!prev && entries.size >= maxSeries) {
        metrics.seriesDropped.inc({ metric: 'nylas_grant_invalid' });
        return false;
      }
      if (prev) metrics.grantInvalid.remove(labels(prev));
      const g: NotifiedGrant = { ...n, state: stateOf(n.trigger), receivedAt: now() };
      entries.set(g.grantId, g);
      metrics.grantInvalid.set(labels(g), g.state === 'invalid' ? 1 : 0);
      return true;
    },
    /** An invalid-grants poll that started at `startedAt` published: it supersedes older news. */
    supersede(startedAt: number): void {
      for (const g of entries.values()) if (g.receivedAt < startedAt) drop(g);
      sweep();
    },
    /** Drops entries past their time (called on a timer: a proxy instance never polls). */
    sweep,
    /** Entries still standing, newest first. */
    list(): NotifiedGrant[] {
      sweep();
      return [...entries.values()].sort((a, b) => b.receivedAt - a.receivedAt);
    },
  };
}

export type GrantHealth = ReturnType<typeof createGrantHealth>;
