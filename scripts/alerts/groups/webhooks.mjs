// Webhook destinations as Nylas reports them (failing, failed), and the webhook listener's own
// view: an app endpoint slow to answer, signatures that do not verify.

/** The rules of this group, built with the shared helpers of `ruleContext` (lib.mjs). */
export function webhookRules({ sel, w, ws, fresh, latched, alert }) {
  // ---- Webhooks -------------------------------------------------------------------------------
  const webhooks = [
    alert('NylasWebhookFailing', {
      expr: `max by (job, webhook_id) ${fresh('webhooks', 'nylas_webhook_status', 'status="failing"')} == 1\nor\n${latched('NylasWebhookFailing', 'webhooks', ['webhook_id'])}`,
      for: '2m',
      severity: 'critical',
      tier: 2,
      summary: 'Nylas marks a webhook destination as failing.',
      description:
        'Nylas reports webhook destination {{ $labels.webhook_id }} as failing: at least 95 % of deliveries ' +
        'to it failed over 15 minutes. The app is missing notifications now; after 72 hours Nylas stops sending.',
      why:
        'Nylas only says "failing" after 15 minutes of >= 95 % failed deliveries, so it is never a blip;\n' +
        '2 minutes is two polls agreeing. Read from the freshest polling instance; while no instance polls it\n' +
        'stays firing (ALERTS) rather than resolving for lack of data.',
    }),
    alert('NylasWebhookFailed', {
      expr: `max by (job, webhook_id) ${fresh('webhooks', 'nylas_webhook_status', 'status="failed"')} == 1\nor\n${latched('NylasWebhookFailed', 'webhooks', ['webhook_id'])}`,
      for: '2m',
      severity: 'critical',
      tier: 2,
      summary: 'Nylas stopped sending to a webhook destination.',
      description:
        'Nylas reports webhook destination {{ $labels.webhook_id }} as failed: it stopped delivering to it ' +
        'and will not resume on its own. Notifications sent meanwhile are not replayed.',
      why: 'A failed destination never recovers by itself; 2 minutes is two polls agreeing.',
    }),
    alert('NylasWebhookEndpointSlow', {
      expr: [
        '1 - (',
        `  sum by (job) (rate(${sel('nylas_webhook_forward_duration_seconds_bucket', 'le="7.5"')}[${w('30m')}]))`,
        '  /',
        `  sum by (job) (rate(${sel('nylas_webhook_forward_duration_seconds_count')}[${w('30m')}]))`,
        ') > 0.05',
        'and on (job)',
        `sum by (job) (rate(${sel('nylas_webhook_forward_duration_seconds_count')}[${w('30m')}])) * ${ws('30m')} >= 20`,
      ].join('\n'),
      for: '10m',
      severity: 'warning',
      tier: 4,
      summary: "The app's webhook endpoint answers close to Nylas's 10 s timeout.",
      description:
        '{{ $value | humanizePercentage }} of webhook notifications forwarded by {{ $labels.job }} took the app ' +
        'more than 7.5 s to answer over the last 30 minutes. Nylas gives up on an attempt after 10 s.',
      why:
        'Nylas fails an attempt after 10 s; past 7.5 s a little jitter is a failed delivery and a retry.\n' +
        'More than 5 % of deliveries that slow (at least 20 in 30m) is a trend towards "failing".',
    }),
    alert('NylasWebhookSignatureInvalid', {
      expr: [
        `sum by (job) (rate(${sel('nylas_webhook_notifications_total', 'outcome="bad_signature"')}[${w('30m')}]))`,
        '/',
        `sum by (job) (rate(${sel('nylas_webhook_notifications_total')}[${w('30m')}]))`,
        '> 0.1',
        'and on (job)',
        `sum by (job) (rate(${sel('nylas_webhook_notifications_total', 'outcome="bad_signature"')}[${w('30m')}])) * ${ws('30m')} >= 5`,
      ].join('\n'),
      for: '5m',
      severity: 'warning',
      tier: 4,
      summary: 'Webhook notifications arrive with a signature that does not verify.',
      description:
        '{{ $value | humanizePercentage }} of webhook notifications received by {{ $labels.job }} over the last ' +
        '30 minutes carried an X-Nylas-Signature that matches none of the configured secrets.',
      why:
        'A stray forged request is noise on an internet-facing endpoint; more than 10 % of notifications (and at\n' +
        'least 5) is a secret that does not match (rotation) or someone sending forged notifications.',
    }),
  ];
  return webhooks;
}
