// Closed lists for label values that come from upstream JSON: an unexpected value becomes
// `other` (or `unknown`) instead of a new series, so a change on Nylas's side cannot blow up
// cardinality.

/** v3 grant providers, as Nylas's grant objects name them. */
export const GRANT_PROVIDERS: ReadonlySet<string> = new Set([
  'google',
  'microsoft',
  'imap',
  'icloud',
  'yahoo',
  'ews',
  'virtual-calendar',
  'zoom',
  'nylas',
]);

/** v2 account providers seen in the v2 SDKs and docs. */
const ACCOUNT_PROVIDERS = new Set([
  'gmail',
  'google',
  'eas',
  'ews',
  'exchange',
  'graph',
  'office365',
  'outlook',
  'hotmail',
  'icloud',
  'imap',
  'yahoo',
  'aol',
  'gmx',
  'zimbra',
  'custom',
]);

/** v2 sync states: the ones Nylas documents and the ones integrators report seeing. */
const SYNC_STATES = new Set([
  'running',
  'partial',
  'stopped',
  'invalid',
  'invalid-credentials',
  'initializing',
  'downloading',
  'exception',
  'sync-error',
]);

export const WEBHOOK_STATUSES = ['active', 'pause', 'failing', 'failed', 'unknown'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

export const COMPONENT_STATUSES = [
  'operational',
  'under_maintenance',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'unknown',
] as const;
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];

export const INCIDENT_IMPACTS = ['none', 'minor', 'major', 'critical', 'maintenance'] as const;

/**
 * `nylas_status_page_indicator` values: Statuspage's `status.indicator` as a number that orders
 * incidents (alerts compare it with >= 1 and >= 2). A page sends `maintenance` while a scheduled
 * maintenance is in progress and nothing is worse; it is -2, below every incident value, so it
 * never reads as an outage. -1 is a value Statuspage does not document. Dashboards map each value
 * back to its name.
 */
export const INDICATOR_VALUES: Readonly<Record<string, number>> = {
  none: 0,
  minor: 1,
  major: 2,
  critical: 3,
  maintenance: -2,
  unknown: -1,
};

/** `provider` label of a grant: a known v3 provider or `other`. */
export function grantProvider(p: string): string {
  return GRANT_PROVIDERS.has(p) ? p : 'other';
}

/** `status` label of a grant: `valid`, `invalid` or `other`. */
export function grantStatus(s: string): 'valid' | 'invalid' | 'other' {
  return s === 'valid' || s === 'invalid' ? s : 'other';
}

/** `provider` label of a v2 account: a known v2 provider or `other`. */
export function accountProvider(p: string): string {
  return ACCOUNT_PROVIDERS.has(p) ? p : 'other';
}

/** `sync_state` label of a v2 account: a known state or `other`. */
export function syncState(s: string): string {
  return SYNC_STATES.has(s) ? s : 'other';
}

/** v3 `status`, or a v2 `state` (`inactive` is v2's pause). */
export function webhookStatus(s: string): WebhookStatus {
  if (s === 'inactive') return 'pause';
  return WEBHOOK_STATUSES.find((x) => x === s) ?? 'unknown';
}

/** Status-page component status; an undocumented value becomes `unknown`. */
export function componentStatus(s: string): ComponentStatus {
  return COMPONENT_STATUSES.find((x) => x === s) ?? 'unknown';
}

/** Status-page indicator as the gauge value (INDICATOR_VALUES); -1 for an undocumented one. */
export function indicatorValue(s: string): number {
  return Object.hasOwn(INDICATOR_VALUES, s) ? INDICATOR_VALUES[s]! : -1;
}

const SEVERITY: Record<ComponentStatus, number> = {
  operational: 0,
  unknown: 1,
  under_maintenance: 2,
  degraded_performance: 3,
  partial_outage: 4,
  major_outage: 5,
};

/** How bad a component status is: the worst is kept when components must be merged or dropped. */
export function componentSeverity(s: ComponentStatus): number {
  return SEVERITY[s];
}

/** Status-page incident impact; an undocumented value becomes `unknown`. */
export function incidentImpact(s: string): string {
  return INCIDENT_IMPACTS.find((x) => x === s) ?? 'unknown';
}

/** Host of a URL for `url_host`: never the path or query (they may carry tokens). */
export function urlHost(u: string | null | undefined): string {
  if (!u) return '';
  try {
    return new URL(u).hostname;
  } catch {
    return '';
  }
}

/** Free text for a label (webhook description): bounded in length, one line. */
export function shortText(s: string | null | undefined, max = 100): string {
  if (!s) return '';
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
