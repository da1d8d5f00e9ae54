// Grants turning invalid (one by one or in a surge), v2 accounts that stopped syncing, and an
// API key Nylas rejects. Poller series are read from the freshest polling instance.

/** The rules of this group, built with the shared helpers of `ruleContext` (lib.mjs). */
export function grantRules({ job, sel, w, fresh, alert }) {
  // ---- Grants and accounts ------------------------------------------------------------------
  const grants = [
    alert('NylasGrantsInvalid', {
      expr: [
        'count by (job) (',
        // Notifications count at once, the freshest poll otherwise (nylas_sidecar:grant_invalid).
        `  max by (job, grant_id, provider) (nylas_sidecar:grant_invalid{${job}})`,
        '  unless',
        `  max by (job, grant_id, provider) (${sel('nylas_grant_invalid')} offset ${w('1h')} == 1)`,
        ')',
        `and on (job) count by (job) (${sel('nylas_grants')} offset ${w('1h')})`,
      ].join('\n'),
      for: '5m',
      severity: 'warning',
      tier: 3,
      summary: 'Grants became invalid: their users must re-authenticate.',
      description:
        '{{ $value }} grant(s) seen by {{ $labels.job }} turned invalid in the last hour. Until their users ' +
        're-authenticate, every call for them fails with 401.',
      why:
        'Grants that became invalid within the last hour (present now, absent 1h ago). Grants that stay\n' +
        'invalid for good (abandoned accounts) do not keep it firing; the dashboard shows them. Only once the\n' +
        'grants poller has an hour of history, so a first start does not report old grants as new.',
    }),
    alert('NylasGrantsInvalidSurge', {
      expr: [
        '(',
        `  max by (job, provider) ${fresh('grants', 'nylas_grants', 'status="invalid"')}`,
        '  -',
        `  max by (job, provider) (${sel('nylas_grants', 'status="invalid"')} offset ${w('1h')})`,
        ')',
        '/ on (job, provider)',
        `sum by (job, provider) (max by (job, provider, status) ${fresh('grants', 'nylas_grants')})`,
        '> 0.1',
        'and on (job, provider)',
        `max by (job, provider) ${fresh('grants', 'nylas_grants', 'status="invalid"')} - max by (job, provider) (${sel('nylas_grants', 'status="invalid"')} offset ${w('1h')}) >= 5`,
      ].join('\n'),
      for: '5m',
      severity: 'critical',
      tier: 2,
      summary: 'A large share of grants became invalid at once.',
      description:
        '{{ $value | humanizePercentage }} of the {{ $labels.provider }} grants seen by {{ $labels.job }} became invalid ' +
        'in the last hour. That is an application-level credential problem (provider app secret expired, OAuth ' +
        'app or scopes changed, admin consent revoked), not users changing passwords.',
      why:
        'Normal churn (password changes, revocations) invalidates a fraction of a percent of grants an hour;\n' +
        'a tenth of one provider at once (and at least 5 grants) points at the application, e.g. an expired\n' +
        'Microsoft client secret.',
    }),
    alert('NylasAccountSyncStopped', {
      expr: `sum by (job, sync_state) (max by (job, sync_state, provider) ${fresh('accounts', 'nylas_accounts', 'sync_state=~"stopped|sync-error|exception"')}) > 0`,
      for: '15m',
      severity: 'warning',
      tier: 3,
      summary: 'Nylas v2 accounts stopped syncing.',
      description:
        '{{ $value }} v2 account(s) seen by {{ $labels.job }} are in sync state {{ $labels.sync_state }}: ' +
        'their mail and calendars are no longer updated.',
      why:
        'A stopped account stays stopped until someone restarts it (or the sidecar does, with\n' +
        'SIDECAR_RESTART_STOPPED_ACCOUNTS); 15 min leaves time for the automatic restart, which takes ~1 min.',
    }),
    alert('NylasApiKeyInvalid', {
      expr: `sum by (job, source) (increase(${sel('nylas_api_key_auth_failures_total')}[${w('5m')}])) >= 3`,
      for: '5m',
      severity: 'critical',
      tier: 1,
      summary: 'Nylas rejects the API key: every call with it fails with 401.',
      description:
        '{{ $value | humanize }} calls from {{ $labels.source }} seen by {{ $labels.job }} in the last 5 minutes ' +
        'answered 401 in a pattern that blames the API key, not the grants (routes naming no grant, many grants ' +
        'with no success, or the pollers’ own calls). The key is wrong, revoked or was rotated; the grants are fine.',
      why:
        'The sidecar counts a 401 here only once it has ruled out the grant (nylas_grant_auth_failures_total\n' +
        'holds those), so a few in 5 minutes already mean a key problem; 5 min of it rules out a deploy that\n' +
        'briefly ran with the old key.',
    }),
  ];
  return grants;
}
