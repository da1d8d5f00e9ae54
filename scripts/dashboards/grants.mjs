// Grants and accounts: v3 grant health from the grants poller and from traffic, v2 account sync
// states from the accounts poller.
//
// Poller gauges are read from the freshest polling instance (lib.mjs fresh()) and aggregated
// with max, not sum: instances of one sidecar job poll the same Nylas application, so a grant
// counts once however many report it, and a stale instance's snapshot never wins.
import {
  JOB,
  dashLink,
  dashboard,
  fresh,
  labelVar,
  q,
  row,
  sel,
  stat,
  steps,
  table,
  timeseries,
} from './lib.mjs';

const PROVIDER = 'provider=~"$provider"';
const GRANTS = 'nylas_grants';

const grants = (status) =>
  `sum(max by (provider) ${fresh(GRANTS, 'grants', PROVIDER, `status="${status}"`)})`;

export default dashboard({
  uid: 'nylas-grants',
  title: 'Nylas grants and accounts',
  description:
    'Grant health (v3) from the grants poller and from 401s in traffic; v2 account sync states and restarts.',
  tags: ['grants'],
  variables: [labelVar('provider', 'Provider', GRANTS)],
  panels: [
    row('Grants (v3)'),
    stat({
      title: 'Valid grants',
      unit: 'short',
      queries: [q(grants('valid'), 'valid')],
    }),
    stat({
      title: 'Invalid grant count',
      description: 'Grants whose grant_status is invalid: the user must re-authenticate.',
      unit: 'short',
      thresholds: steps('green', [1, 'orange']),
      queries: [q(grants('invalid'), 'invalid')],
    }),
    stat({
      title: 'Invalid share',
      description:
        'A large share invalid at once points at an application-level credential problem, not at users.',
      unit: 'percentunit',
      decimals: 1,
      // 10%: well above the churn of users revoking access, the point where a shared cause is likely.
      thresholds: steps('green', [0.01, 'orange'], [0.1, 'red']),
      queries: [
        q(
          `${grants('invalid')} / sum(max by (provider, status) ${fresh(GRANTS, 'grants', PROVIDER)})`,
          'invalid share',
        ),
      ],
    }),
    stat({
      title: '401s on grant routes (1 h)',
      description: 'Requests that failed because a grant needs re-authentication, seen in traffic.',
      unit: 'short',
      decimals: 0,
      thresholds: steps('green', [1, 'orange']),
      links: [dashLink('API overview', 'nylas-api-overview')],
      queries: [
        q(`sum(increase(nylas_grant_auth_failures_total${sel(JOB)}[1h])) or vector(0)`, '401s'),
      ],
    }),
    stat({
      title: 'Grants poll age',
      description: 'Time since the grants poller last succeeded (every 5 min by default).',
      unit: 's',
      // 15 min: three missed runs of the default 5-minute schedule.
      thresholds: steps('green', [900, 'red']),
      queries: [
        q(
          `time() - max(nylas_poller_last_success_timestamp_seconds${sel(JOB, 'poller="grants"')})`,
          'age',
        ),
      ],
    }),
    stat({
      title: 'Grant series dropped',
      description:
        'Per-grant or per-account series not created because SIDECAR_MAX_GRANT_SERIES was reached: the tables below are incomplete.',
      unit: 'short',
      thresholds: steps('green', [1, 'orange']),
      queries: [
        q(
          // max, not sum: every polling instance drops the same grant series.
          `max(nylas_sidecar_series_dropped_total${sel(JOB, 'metric=~"nylas_grant_invalid|nylas_account_unhealthy"')}) or vector(0)`,
          'dropped',
        ),
      ],
    }),
    timeseries({
      title: 'Grants by status and provider',
      unit: 'short',
      stack: true,
      queries: [
        q(
          `max by (status, provider) ${fresh(GRANTS, 'grants', PROVIDER)}`,
          '{{provider}} {{status}}',
        ),
      ],
      overrides: [
        {
          matcher: { id: 'byRegexp', options: '.*invalid' },
          properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }],
        },
      ],
    }),
    table({
      title: 'Invalid grants',
      description:
        'Each grant that needs re-authentication. GET /support/{grant_id} on the admin listener prints a ready-to-send support ticket for one.',
      hide: ['Time', 'Value'],
      rename: { grant_id: 'Grant ID', provider: 'Provider' },
      queries: [
        q(
          `max by (grant_id, provider) (${fresh('nylas_grant_invalid', 'grants', PROVIDER)} == 1) or max by (grant_id, provider) (nylas_grant_invalid${sel(JOB, PROVIDER, 'source="notification"')} == 1)`,
          '',
        ),
      ],
    }),
    timeseries({
      title: '401s on grant routes',
      unit: 'reqps',
      w: 24,
      h: 6,
      queries: [
        q(
          `sum by (route) (rate(nylas_grant_auth_failures_total${sel(JOB)}[$__rate_interval]))`,
          '{{route}}',
        ),
      ],
    }),

    row('Accounts (v2)'),
    timeseries({
      title: 'Accounts by sync state',
      description: 'v2 accounts by sync_state; anything but running needs attention.',
      unit: 'short',
      stack: true,
      queries: [
        q(
          `max by (sync_state, provider) ${fresh('nylas_accounts', 'accounts', PROVIDER)}`,
          '{{provider}} {{sync_state}}',
        ),
      ],
    }),
    table({
      title: 'Accounts not running',
      hide: ['Time', 'Value'],
      rename: { account_id: 'Account ID', sync_state: 'Sync state' },
      queries: [
        q(`max by (account_id, sync_state) ${fresh('nylas_account_unhealthy', 'accounts')}`, ''),
      ],
    }),
    timeseries({
      title: 'Sync restarts by result',
      description:
        'Restarts of stopped accounts made by the sidecar (SIDECAR_RESTART_STOPPED_ACCOUNTS), at most once per account per hour.',
      unit: 'short',
      stack: true,
      queries: [
        q(
          `sum by (result) (increase(nylas_account_sync_restarts_total${sel(JOB)}[$__rate_interval]))`,
          '{{result}}',
        ),
      ],
    }),
  ],
});
