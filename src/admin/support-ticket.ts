import type { Grant } from '../nylas/index.js';
import type { GrantsSnapshot, StatusPageSnapshot } from '../pollers/index.js';
import type { KeyProblem, UpstreamErrorRecord } from '../credentials/index.js';

/** Nylas's support priority levels: 1 is the most urgent (see TIER_LABELS). */
export type SupportTier = 1 | 2 | 3 | 4;

export const TIER_LABELS: Record<SupportTier, string> = {
  1: 'production down for many users',
  2: 'production degraded for more than one user',
  3: 'one user affected, or a question',
  4: 'no business impact',
};

/** Errors listed in the ticket; more are summarised by count. */
const ERRORS_LISTED = 20;
/**
 * An invalid share at or above this, with at least SURGE_MIN_GRANTS invalid, points at an
 * application-level credential problem (e.g. an expired Azure client secret) affecting many users.
 */
const SURGE_SHARE = 0.2;
const SURGE_MIN_GRANTS = 5;
/** Distinct grants failing in recent traffic at which it counts as "many users". */
const MANY_GRANTS = 10;

export interface TicketInput {
  /** The id as asked for (path parameter). */
  grantId: string;
  grant: Grant | undefined;
  /** Where `grant` came from, and when (Unix ms). */
  grantSource: 'poll' | 'api' | 'notification' | undefined;
  grantCheckedAt: number | undefined;
  /** The proxy's recent upstream errors (all grants), newest first. */
  errors: readonly UpstreamErrorRecord[];
  grants: GrantsSnapshot | undefined;
  statusPage: StatusPageSnapshot | undefined;
  /** The Nylas API host the sidecar talks to (region); never a credential. */
  apiHost: string;
  now: number;
  /** API keys currently rejected (credentials/key-health.ts): their 401s are not the grant's. */
  keyProblems?: readonly KeyProblem[];
}

/**
 * A failure that says something about the grant's users: a 401 blamed on the grant (not the API
 * key), a 403, an error the provider caused, or Nylas failing (5xx, no answer) on the grant's
 * calls. A 404 or another 4xx is the app asking for something that is not there, or asking
 * wrongly: an ordinary day, not a reason to raise a ticket's priority.
 */
export function isGrantFailure(r: UpstreamErrorRecord): boolean {
  if (!r.grantId) return false;
  if (r.code === 401) return r.blame === 'grant';
  if (r.code === 499) return false; // the app hung up
  if (r.code === 403 || r.code >= 500) return true;
  return r.providerError === true || r.errorType.endsWith('provider_error');
}

export interface TierDecision {
  tier: SupportTier;
  reason: string;
}

/** Suggests a Nylas support tier from what the sidecar has seen. */
export function suggestTier(input: TicketInput): TierDecision {
  const failures = input.errors.filter(isGrantFailure);
  const mine = failures.filter((r) => r.grantId === input.grantId);
  const failingGrants = new Set(failures.map((r) => r.grantId));
  const g = input.grants;
  const invalidShare = g?.total ? g.invalidTotal / g.total : 0;
  const sp = input.statusPage;
  if (sp && sp.indicatorValue >= 2)
    return {
      tier: 1,
      reason: `the Nylas status page reports a ${sp.indicator} disruption (${sp.description})`,
    };
  // As NylasPlatformMajorOutage: a major or critical incident of our region counts even while the
  // indicator has not moved.
  const severe = sp?.incidents.find(
    (i) => i.ours && (i.impact === 'major' || i.impact === 'critical'),
  );
  if (severe)
    return {
      tier: 1,
      reason: `the Nylas status page has a ${severe.impact} incident open: ${severe.name || severe.id}`,
    };
  if (g && g.invalidTotal >= SURGE_MIN_GRANTS && invalidShare >= SURGE_SHARE)
    return {
      tier: 1,
      reason: `${g.invalidTotal} of ${g.total} grants (${Math.round(invalidShare * 100)}%) are invalid at once`,
    };
  if (failingGrants.size >= MANY_GRANTS)
    return {
      tier: 1,
      reason: `${failingGrants.size} different grants failed in recent API traffic`,
    };
  if ((g && g.invalidTotal > 1) || failingGrants.size > 1)
    return {
      tier: 2,
      reason: `more than one grant is affected (${g?.invalidTotal ?? 0} invalid, ${failingGrants.size} with recent errors)`,
    };
  if (input.grant?.grant_status === 'invalid' || mine.length > 0)
    return { tier: 3, reason: 'this grant alone is affected' };
  return { tier: 4, reason: 'no errors or invalid state seen for this grant' };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The text of a ready-to-send Nylas support ticket for one grant: what Nylas support asks for
 * (grant id, timestamps, request ids, errors, troubleshooting done, priority). Nothing secret:
 * it is built only from grant metadata, routes, codes and request ids.
 */
export function renderSupportTicket(input: TicketInput): string {
  const { grantId, grant, errors, grants: g, statusPage: sp } = input;
  const mine = errors.filter((r) => r.grantId === grantId || (grant && r.grantId === grant.id));
  const { tier, reason } = suggestTier(input);
  const status = grant?.grant_status ?? 'unknown';
  const provider = grant?.provider ?? 'unknown';
  const lines: string[] = [];
  const summary =
    status === 'invalid'
      ? 'grant is invalid (needs re-authentication)'
      : mine.length > 0
        ? `${mine.length} failed API request(s)`
        : 'question about a grant';

  lines.push(`Subject: Grant ${grantId} (${provider}): ${summary}`);
  lines.push('');
  lines.push(`Suggested priority: Tier ${tier} (${TIER_LABELS[tier]}): ${reason}.`);
  lines.push('');
  lines.push('Details');
  lines.push(`- Grant ID: ${grant?.id ?? grantId}`);
  lines.push(`- Provider: ${provider}`);
  lines.push(
    `- Grant status: ${status}${input.grantCheckedAt ? ` (checked ${iso(input.grantCheckedAt)} via ${input.grantSource === 'api' ? 'GET /v3/grants/{grant_id}' : input.grantSource === 'notification' ? 'a grant notification (source: notification)' : 'the GET /v3/grants poll (source: poll)'})` : ' (could not be checked)'}`,
  );
  if (grant?.updated_at)
    lines.push(`- Last successful authentication: ${iso(grant.updated_at * 1000)}`);
  lines.push(`- API region host: ${input.apiHost}`);
  lines.push(`- Ticket written: ${iso(input.now)}`);
  lines.push('');

  if (mine.length > 0) {
    const first = mine[mine.length - 1]!;
    const last = mine[0]!;
    lines.push(
      `Failed requests for this grant: ${mine.length}, from ${iso(first.time)} to ${iso(last.time)} (UTC)`,
    );
    const byKind = new Map<string, number>();
    for (const r of mine) {
      const k = `${r.code} ${r.errorType || '(no error type)'}`;
      byKind.set(k, (byKind.get(k) ?? 0) + 1);
    }
    lines.push(`Errors seen: ${[...byKind].map(([k, n]) => `${k} x${n}`).join(', ')}`);
    lines.push('');
    lines.push('Request IDs (newest first):');
    for (const r of mine.slice(0, ERRORS_LISTED))
      lines.push(
        `  ${iso(r.time)}  ${r.method} ${r.route}  HTTP ${r.code}  ${r.errorType || '-'}  request_id=${r.requestId ?? '(none returned)'}`,
      );
    if (mine.length > ERRORS_LISTED) lines.push(`  ... and ${mine.length - ERRORS_LISTED} more`);
  } else {
    lines.push(
      'Failed requests for this grant: none among the recent upstream errors the sidecar keeps.',
    );
  }
  lines.push('');

  lines.push('Troubleshooting done');
  if (input.grantCheckedAt)
    lines.push(
      `- Checked the grant's status with Nylas at ${iso(input.grantCheckedAt)}: ${status}.`,
    );
  if (status === 'invalid')
    lines.push(
      '- The grant is invalid: the user has to re-authenticate (re-authentication keeps the same grant ID). [Add: whether re-authentication was attempted and its result.]',
    );
  if (mine.some((r) => r.code === 401 && r.blame === 'grant'))
    lines.push(
      '- 401 responses on grant routes were seen in traffic while the API key worked for other calls: the grant may need re-authentication.',
    );
  for (const k of input.keyProblems ?? [])
    lines.push(
      `- The API key (fingerprint ${k.fingerprint}) is rejected with 401 since ${iso(k.since)} (${k.failures} calls, ${k.grants} grants${k.nonGrantRoutes.length ? `, and routes naming no grant` : ''}): this is a key problem, not this grant's; fix the key (NYLAS_API_KEY / the app's key) before filing.`,
    );
  if (sp) {
    const open = sp.incidents.map((i) => `${i.name || i.id} (${i.impact}, ${i.status})`);
    lines.push(
      `- Checked the Nylas status page at ${iso(sp.at)}: ${sp.indicator} (${sp.description})${open.length ? `; open incidents: ${open.join('; ')}` : '; no open incidents'}.`,
    );
  } else {
    lines.push('- The Nylas status page has not been checked by the sidecar.');
  }
  if (g)
    lines.push(
      `- Other grants at ${iso(g.at)}: ${g.invalidTotal} of ${g.total} invalid in this application.`,
    );
  const others = new Set(
    errors
      .filter(isGrantFailure)
      .map((r) => r.grantId)
      .filter((id) => id !== grantId),
  );
  if (others.size > 0)
    lines.push(`- Other grants failing recently (401, 403, provider errors): ${others.size}.`);
  lines.push(
    '- [Add: steps already tried, e.g. retries, re-authentication, provider-side checks.]',
  );
  lines.push('');
  lines.push('Impact: [Add: how many end users are affected and what they cannot do.]');
  lines.push('');
  lines.push('(Written by nylas-sidecar from its own observations; it contains no credentials.)');
  return `${lines.join('\n')}\n`;
}
