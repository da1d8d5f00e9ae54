// Notification channels, webhook destinations and channels on their way to `failed`, and grant
// health as the grant notifications report it. Poller-derived series are read from the freshest
// polling instance (the nylas_sidecar:poller_freshest recording rule), as every poller-derived
// alert does.
import { FAILING_TO_FAILED_SECONDS, num } from '../lib.mjs';

/** The rules of this group, built with the shared helpers of `ruleContext` (lib.mjs). */
export function channelRules({ o, alert, sel, freshest }) {
  // Keeps only the series of the poller's freshest instance.
  const andFreshest = (poller) => `and on (job, instance) ${freshest(poller)}`;
  const warnHours = num(o.failingWarnSeconds / 3600);
  const leftSeconds = FAILING_TO_FAILED_SECONDS - o.failingWarnSeconds;
  const towardsFailed = (status, since, by, idLabel) =>
    [
      `max by (${by}) (`,
      `  (${sel(since)} + ${FAILING_TO_FAILED_SECONDS})`,
      `  and on (job, instance, ${idLabel}) (${sel(status, 'status="failing"')} == 1)`,
      `  ${andFreshest('webhooks')}`,
      `) < time() + ${leftSeconds}`,
    ].join('\n');
  return [
    {
      rule: {
        record: 'nylas_sidecar:grant_invalid',
        expr: [
          `max by (job, grant_id, provider) (${sel('nylas_grant_invalid', 'source="notification"')} == 1)`,
          'or',
          '(',
          `  max by (job, grant_id, provider) (${sel('nylas_grant_invalid', 'source="poll"')} ${andFreshest('grants')})`,
          `  unless on (job, grant_id) (max by (job, grant_id) (${sel('nylas_grant_invalid', 'source="notification"')} == 0))`,
          ')',
        ].join('\n'),
      },
      comment:
        'Invalid grants as best known now: 1 per grant. A verified grant.expired (source="notification",\n' +
        'from whichever instance received it) counts at once; the freshest poll counts unless a newer\n' +
        'notification said the grant was re-authenticated, created again or deleted (value 0).',
    },
    alert('NylasChannelFailing', {
      expr: `max by (job, channel_id, type) (${sel('nylas_channel_status', 'status="failing"')} ${andFreshest('webhooks')}) == 1`,
      for: '2m',
      severity: 'critical',
      tier: 2,
      summary: 'Nylas marks a notification channel as failing.',
      description:
        'Nylas reports {{ $labels.type }} channel {{ $labels.channel_id }} as failing: it cannot deliver to the ' +
        'topic. The app is missing notifications now; after 72 hours failing Nylas marks it failed.',
      why: 'Channels have the same status lifecycle as webhook destinations; 2 minutes is two polls agreeing.',
    }),
    alert('NylasChannelFailed', {
      expr: `max by (job, channel_id, type) (${sel('nylas_channel_status', 'status="failed"')} ${andFreshest('webhooks')}) == 1`,
      for: '2m',
      severity: 'critical',
      tier: 2,
      summary: 'Nylas stopped sending to a notification channel.',
      description:
        'Nylas reports {{ $labels.type }} channel {{ $labels.channel_id }} as failed: it stopped delivering to it ' +
        'and will not resume on its own. Notifications sent meanwhile are not replayed.',
      why: 'A failed channel never recovers by itself; 2 minutes is two polls agreeing.',
    }),
    alert('NylasGrantsCensusStale', {
      expr: `time() - max by (job) (${sel('nylas_grants_census_timestamp_seconds')}) > ${o.testTiming ? 60 : 3 * 3600}`,
      for: '15m',
      severity: 'warning',
      tier: 4,
      summary: 'The grants census has not finished recently.',
      description:
        'The last census of grants by status and provider ({{ $labels.job }}) finished {{ $value | humanizeDuration }} ago. ' +
        'nylas_grants valid counts are that old; invalid grants are still refreshed every run.',
      why:
        'The census runs hourly by default (SIDECAR_POLL_GRANTS_CENSUS), so the generic 15-minute poller\n' +
        'staleness does not apply to it; three missed runs do. The newest census of any instance counts.',
    }),
    alert('NylasWebhookFailingTowardsFailed', {
      expr: towardsFailed(
        'nylas_webhook_status',
        'nylas_webhook_status_since_timestamp_seconds',
        'job, webhook_id',
        'webhook_id',
      ),
      for: '5m',
      severity: 'critical',
      tier: 2,
      summary: 'A webhook destination has been failing long enough to be marked failed soon.',
      description:
        `Webhook destination {{ $labels.webhook_id }} has been failing for more than ${warnHours} hours. ` +
        'Nylas will mark it failed at {{ $value | humanizeTimestamp }} unless deliveries recover, then stop ' +
        'sending and never replay what it missed.',
      why:
        `The value is when Nylas marks it failed (status since + 72 h); it fires once less than ${num(leftSeconds / 3600)} h are left,\n` +
        `i.e. after ${warnHours} h failing (--failing-warn-seconds). 5 minutes rides out a poll that flips back.`,
    }),
    alert('NylasChannelFailingTowardsFailed', {
      expr: towardsFailed(
        'nylas_channel_status',
        'nylas_channel_status_since_timestamp_seconds',
        'job, channel_id, type',
        'channel_id, type',
      ),
      for: '5m',
      severity: 'critical',
      tier: 2,
      summary: 'A notification channel has been failing long enough to be marked failed soon.',
      description:
        `{{ $labels.type }} channel {{ $labels.channel_id }} has been failing for more than ${warnHours} hours. ` +
        'Nylas will mark it failed at {{ $value | humanizeTimestamp }} unless deliveries recover, then stop ' +
        'sending and never replay what it missed.',
      why: 'As for webhook destinations (the channel docs name the statuses, not the thresholds).',
    }),
  ];
}
