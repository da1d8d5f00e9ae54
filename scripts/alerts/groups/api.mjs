// Alerts on the app's own traffic to Nylas: error budget burn, unreachable, latency, rate limits.

/** The rules of this group, built with the shared helpers of `ruleContext` (lib.mjs). */
export function apiRules({ o, job, sel, w, ws, alert, lat, budget }) {
  // ---- NylasApiErrorBudgetBurn: four windows, two severities --------------------------------
  // The low-traffic guard: at least this many errors in the long window. Without it, 3 failed
  // requests in a quiet hour are a 100 % error ratio and would page.
  const minErrors = 10;
  const burnRows = [
    {
      long: '1h',
      short: '5m',
      factor: 14.4,
      for: '2m',
      severity: 'critical',
      tier: 2,
      budget: '2 %',
    },
    {
      long: '6h',
      short: '30m',
      factor: 6,
      for: '15m',
      severity: 'critical',
      tier: 2,
      budget: '5 %',
    },
    { long: '1d', short: '2h', factor: 3, for: '1h', severity: 'warning', tier: 3, budget: '10 %' },
    { long: '3d', short: '6h', factor: 1, for: '3h', severity: 'warning', tier: 3, budget: '10 %' },
  ];
  const burn = burnRows.map((r, i) =>
    alert('NylasApiErrorBudgetBurn', {
      expr: [
        `nylas:api_errors:ratio_rate${r.long}{${job}} > (${r.factor} * ${budget})`,
        'and',
        `nylas:api_errors:ratio_rate${r.short}{${job}} > (${r.factor} * ${budget})`,
        'and',
        `nylas:api_errors:rate${r.long}{${job}} * ${ws(r.long)} >= ${minErrors}`,
      ].join('\n'),
      for: r.for,
      severity: r.severity,
      tier: r.tier,
      labels: { long: r.long, short: r.short },
      summary:
        r.severity === 'critical'
          ? 'Nylas API errors are burning the error budget fast.'
          : 'Nylas API errors are burning the error budget.',
      description:
        `{{ $value | humanizePercentage }} of Nylas API requests through {{ $labels.job }} failed (5xx or no answer) ` +
        `over the last ${r.long}, and over the last ${r.short} too: a burn rate above ${r.factor} (at 1, the ${o.slo} % ` +
        `objective's error budget lasts exactly 30 days), ${r.budget} of the budget gone in ${r.long}.`,
      statusPage: true,
      why: [
        ...(i === 0
          ? [
              `Multi-window, multi-burn-rate alert on the ${o.slo} % availability objective (Google SRE workbook):`,
              'the long window says enough budget is gone, the short one that it is still going.',
              `Each row needs at least ${minErrors} errors in its long window (low-traffic guard).`,
            ]
          : []),
        `Burn rate ${r.factor} over ${r.long} (and ${r.short}) spends ${r.budget} of a 30-day budget: ` +
          (r.severity === 'critical' ? 'page.' : 'ticket.'),
      ].join('\n'),
    }),
  );

  const api = [
    ...burn,
    alert('NylasApiUnreachable', {
      expr: [
        '(',
        `  nylas:api_transport_failures:ratio_rate5m{${job}} > 0.5`,
        '  or',
        `  nylas:api_errors:ratio_rate5m{${job}} > 0.9`,
        ')',
        'and',
        `nylas:api_requests:rate5m{${job}} * ${ws('5m')} >= 10`,
      ].join('\n'),
      for: '2m',
      severity: 'critical',
      tier: 1,
      summary: 'The Nylas API is unreachable from the sidecar.',
      description:
        'Over the last 5 minutes {{ $value | humanizePercentage }} of requests through {{ $labels.job }} got ' +
        'no answer from Nylas (connection refused, DNS, TLS, reset or timeout) or a 5xx: the app can barely use Nylas.',
      statusPage: true,
      why:
        'More than half of the requests got no answer at all, or more than 90 % failed: not a bad minute\n' +
        'but Nylas (or the way to it) being down. At least 10 requests in the window.',
    }),
    alert('NylasApiLatencyHigh', {
      expr: [
        `nylas:api_slow_requests:ratio_rate30m{${job}} > 0.1`,
        'and',
        `nylas:api_slow_requests:ratio_rate5m{${job}} > 0.1`,
        'and',
        `nylas:api_requests:rate30m{${job}} * ${ws('30m')} >= 50`,
      ].join('\n'),
      for: '15m',
      severity: 'warning',
      tier: 2,
      summary: `Nylas API P90 latency is above ${lat} s.`,
      description:
        `{{ $value | humanizePercentage }} of requests through {{ $labels.job }} took longer than ${lat} s over the last ` +
        `30 minutes, so the P90 is above Nylas's published ${lat} s target` +
        `{{ with query "nylas:api_request_duration_seconds:p90_rate30m{${job.replace(/"/g, '\\"')}}" }}{{ with first . }}` +
        ' (P90 now {{ .Value | humanizeDuration }}){{ end }}{{ end }}.',
      statusPage: true,
      why:
        `More than 10 % of requests slower than ${lat} s means the P90 is above Nylas's published target. Both 30m\n` +
        'and 5m so that it resolves soon after latency recovers; at least 50 requests in 30m.',
    }),
    alert('NylasApiRateLimited', {
      expr: [
        `sum by (job, scope) (rate(${sel('nylas_api_rate_limited_total')}[${w('5m')}]))`,
        '/ on (job) group_left',
        `nylas:api_requests:rate5m{${job}}`,
        '> 0.05',
        'and on (job, scope)',
        `sum by (job, scope) (rate(${sel('nylas_api_rate_limited_total')}[${w('5m')}])) * ${ws('5m')} >= 10`,
      ].join('\n'),
      for: '10m',
      severity: 'warning',
      tier: 3,
      summary: 'Nylas API requests are being rate limited.',
      description:
        '{{ $value | humanizePercentage }} of requests through {{ $labels.job }} got 429 over the last 5 minutes, ' +
        'scope {{ $labels.scope }} ({{ if eq $labels.scope "provider" }}the email provider is throttling a mailbox' +
        '{{ else }}a Nylas application or grant limit{{ end }}).',
      statusPage: true,
      why:
        'A few 429s are normal and retried with backoff; more than 5 % for 10 minutes means requests are being\n' +
        'delayed or dropped. At least 10 rate-limited requests in the window.',
    }),
  ];
  return api;
}
