// Webhooks: destination status from the webhooks poller, deliveries seen by the webhook listener.
import {
  JOB,
  dashLink,
  dashboard,
  enumMappings,
  labelVar,
  q,
  row,
  fresh,
  sel,
  stat,
  stateSetIndex,
  stateTimeline,
  statusPageAnnotations,
  steps,
  table,
  timeseries,
} from './lib.mjs';

const TRIGGER = 'trigger=~"$trigger"';
const NOTIF = 'nylas_webhook_notifications_total';
const FWD = 'nylas_webhook_forward_duration_seconds';
const LAG = 'nylas_webhook_delivery_lag_seconds';
/** Nylas gives up on an attempt after 10 s; the sidecar answers 504 itself at 9 s. */
const NYLAS_TIMEOUT_S = 10;
const SIDECAR_CUTOFF_S = 9;
const STATES = ['active', 'pause', 'failing', 'failed', 'unknown'];

/** Colours of the destination and channel statuses (the StateSet order, STATES). */
const STATE_MAPPINGS = enumMappings([
  ['active', 'green'],
  ['pause', 'blue'],
  ['failing', 'orange'],
  ['failed', 'red'],
  ['unknown', 'text'],
]);
const rate = (metric, ...m) => `rate(${metric}${sel(JOB, ...m)}[$__rate_interval])`;

export default dashboard({
  uid: 'nylas-webhooks',
  title: 'Nylas webhooks',
  description:
    'Webhook destinations as Nylas sees them (active, failing, failed) and the deliveries that reach the sidecar’s webhook listener: outcomes, lag, signature failures and the app’s response time against Nylas’s 10 s timeout.',
  tags: ['webhooks'],
  variables: [labelVar('trigger', 'Trigger', NOTIF)],
  annotations: statusPageAnnotations(),
  panels: [
    row('Destinations'),
    stat({
      title: 'Destinations not active',
      description:
        'Destinations Nylas marks failing (deliveries failing, still retried) or failed (Nylas stopped sending).',
      unit: 'short',
      graph: false,
      thresholds: steps('green', [1, 'red']),
      queries: [
        q(
          `sum(max by (webhook_id) ${fresh('nylas_webhook_status', 'webhooks', 'status=~"failing|failed"')}) or vector(0)`,
          'not active',
        ),
      ],
      w: 6,
    }),
    stat({
      title: 'Notifications per second',
      unit: 'reqps',
      decimals: 2,
      queries: [q(`sum(${rate(NOTIF, TRIGGER)})`, 'notifications')],
      w: 6,
    }),
    stat({
      title: 'Bad signatures (1 h)',
      description:
        'Deliveries whose X-Nylas-Signature matched no configured secret: a rotated secret, or someone else posting.',
      unit: 'short',
      decimals: 0,
      thresholds: steps('green', [1, 'red']),
      queries: [
        q(
          `sum(increase(${NOTIF}${sel(JOB, 'outcome="bad_signature"')}[1h])) or vector(0)`,
          'bad signatures',
        ),
      ],
      w: 6,
    }),
    stat({
      title: 'App P99 response time',
      description: `The app's webhook endpoint. Nylas counts an attempt as failed after ${NYLAS_TIMEOUT_S} s.`,
      unit: 's',
      decimals: 2,
      thresholds: steps('green', [SIDECAR_CUTOFF_S / 2, 'orange'], [SIDECAR_CUTOFF_S, 'red']),
      queries: [q(`histogram_quantile(0.99, sum by (le) (${rate(`${FWD}_bucket`)}))`, 'P99')],
      w: 6,
    }),
    table({
      title: 'Destination status',
      hide: ['Time', 'Value'],
      rename: {
        webhook_id: 'Webhook ID',
        status: 'Status',
        description: 'Description',
        url_host: 'URL host',
      },
      queries: [
        q(
          `max by (webhook_id, status) (${fresh('nylas_webhook_status', 'webhooks')} == 1) * on (webhook_id) group_left (description, url_host) max by (webhook_id, description, url_host) ${fresh('nylas_webhook_info', 'webhooks')}`,
          '',
        ),
      ],
    }),
    stateTimeline({
      title: 'Destination status over time',
      mappings: STATE_MAPPINGS,
      queries: [
        q(
          stateSetIndex('nylas_webhook_status', 'webhooks', 'webhook_id', STATES, []),
          '{{webhook_id}}',
        ),
      ],
    }),

    row('Deliveries'),
    timeseries({
      title: 'Notifications by trigger and outcome',
      description:
        'forwarded: passed to the app; bad_signature: rejected (enforce) or counted (observe); duplicate: a notification id the app already acknowledged (still forwarded; Nylas delivers at least once); malformed: not a CloudEvent with id/type/time, or a body over 2 MB or never completed (signed ones are still forwarded); forward_failed: Nylas recorded a failure: the app answered non-2xx, did not answer within 9 s (504), could not be reached (502), or the listener was over its memory budget (503).',
      unit: 'reqps',
      stack: true,
      legendTable: true,
      queries: [
        q(`sum by (trigger, outcome) (${rate(NOTIF, TRIGGER)})`, '{{trigger}} {{outcome}}'),
      ],
    }),
    timeseries({
      title: 'Signature failures and duplicates',
      unit: 'reqps',
      queries: [
        q(
          `sum by (outcome) (${rate(NOTIF, TRIGGER, 'outcome=~"bad_signature|duplicate"')})`,
          '{{outcome}}',
        ),
      ],
    }),
    timeseries({
      title: 'Delivery lag',
      description:
        'Receipt time minus the CloudEvent time, over every trigger (the histogram is not by trigger). Nylas retries a failed delivery with backoff, the last attempt 10-20 min after the first, so lag in minutes means earlier attempts failed.',
      unit: 's',
      thresholdLine: true,
      // 10 min: beyond it a delivery is a late retry, not a slow first attempt.
      thresholds: steps('green', [600, 'orange']),
      queries: [
        q(`histogram_quantile(0.5, sum by (le) (${rate(`${LAG}_bucket`)}))`, 'P50'),
        q(`histogram_quantile(0.9, sum by (le) (${rate(`${LAG}_bucket`)}))`, 'P90'),
        q(`histogram_quantile(0.99, sum by (le) (${rate(`${LAG}_bucket`)}))`, 'P99'),
      ],
    }),
    timeseries({
      title: 'Redeliveries by attempt',
      description:
        'Notifications by webhook_delivery_attempt; attempt 2 or 3 means Nylas already failed to deliver it.',
      unit: 'reqps',
      stack: true,
      queries: [
        q(
          `sum by (attempt) (${rate('nylas_webhook_delivery_attempts_total', TRIGGER)})`,
          'attempt {{attempt}}',
        ),
      ],
    }),

    row('The app’s endpoint'),
    timeseries({
      title: 'App response time against the 10 s timeout',
      description: `How long the app's webhook endpoint took. Dashed lines: the sidecar answers 504 itself at ${SIDECAR_CUTOFF_S} s, Nylas fails the attempt at ${NYLAS_TIMEOUT_S} s.`,
      unit: 's',
      min: 0,
      thresholdLine: true,
      thresholds: steps('green', [SIDECAR_CUTOFF_S, 'orange'], [NYLAS_TIMEOUT_S, 'red']),
      queries: [
        q(`histogram_quantile(0.5, sum by (le) (${rate(`${FWD}_bucket`)}))`, 'P50'),
        q(`histogram_quantile(0.9, sum by (le) (${rate(`${FWD}_bucket`)}))`, 'P90'),
        q(`histogram_quantile(0.99, sum by (le) (${rate(`${FWD}_bucket`)}))`, 'P99'),
      ],
    }),
    timeseries({
      title: 'App answers by status class',
      description: 'error: no answer (timeout or connection refused).',
      unit: 'reqps',
      stack: true,
      queries: [q(`sum by (status_class) (${rate(`${FWD}_count`)})`, '{{status_class}}')],
    }),
    timeseries({
      title: 'Challenge handshakes',
      description:
        'GET ?challenge= handshakes (when a webhook is created or re-activated), by who answered them.',
      unit: 'short',
      stack: true,
      queries: [
        q(
          `sum by (outcome) (increase(nylas_webhook_challenges_total${sel(JOB)}[$__rate_interval]))`,
          '{{outcome}}',
        ),
      ],
    }),
    timeseries({
      title: 'Time since the last notification',
      description:
        'By trigger. A trigger that usually flows and stops may mean the destination is failing: see its status above.',
      unit: 's',
      links: [dashLink('Nylas platform', 'nylas-platform')],
      queries: [
        q(
          `time() - max by (trigger) (nylas_webhook_last_notification_timestamp_seconds${sel(JOB, TRIGGER)})`,
          '{{trigger}}',
        ),
      ],
    }),

    // Pub/Sub and SNS notification channels, and how long each destination has left before Nylas
    // marks it failed (72 h after it began failing).
    row('Notification channels and the way to failed'),
    table({
      title: 'Channel status',
      description:
        'Pub/Sub and SNS notification channels as Nylas reports them (the topic is never exported).',
      hide: ['Time', 'Value'],
      rename: {
        channel_id: 'Channel ID',
        type: 'Type',
        status: 'Status',
        description: 'Description',
      },
      queries: [
        q(
          `max by (channel_id, type, status) (${fresh('nylas_channel_status', 'webhooks')} == 1) * on (channel_id, type) group_left (description) max by (channel_id, type, description) ${fresh('nylas_channel_info', 'webhooks')}`,
          '',
        ),
      ],
    }),
    stateTimeline({
      title: 'Channel status over time',
      mappings: STATE_MAPPINGS,
      queries: [
        q(
          stateSetIndex('nylas_channel_status', 'webhooks', 'channel_id, type', STATES, []),
          '{{type}} {{channel_id}}',
        ),
      ],
    }),
    timeseries({
      title: 'Hours left before Nylas marks it failed',
      description:
        'For each failing destination or channel: 72 h after it began failing, minus now. At 0 Nylas stops sending for good and does not replay what it missed; NylasWebhookFailingTowardsFailed and NylasChannelFailingTowardsFailed fire with 48 h left.',
      unit: 'h',
      min: 0,
      thresholdLine: true,
      thresholds: steps('red', [12, 'orange'], [48, 'green']),
      w: 24,
      queries: [
        q(
          `(max by (webhook_id) (${fresh('nylas_webhook_status_since_timestamp_seconds', 'webhooks')} and on (webhook_id) max by (webhook_id) (${fresh('nylas_webhook_status', 'webhooks', 'status="failing"')} == 1)) + 259200 - time()) / 3600`,
          'webhook {{webhook_id}}',
        ),
        q(
          `(max by (channel_id, type) (${fresh('nylas_channel_status_since_timestamp_seconds', 'webhooks')} and on (channel_id, type) max by (channel_id, type) (${fresh('nylas_channel_status', 'webhooks', 'status="failing"')} == 1)) + 259200 - time()) / 3600`,
          '{{type}} {{channel_id}}',
        ),
      ],
    }),
  ],
});
