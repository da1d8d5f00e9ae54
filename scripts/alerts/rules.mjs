// The single definition of nylas-sidecar's Prometheus rules (SPEC section 8): recording rules
// for the API SLIs over the burn-rate windows, and every alert with its reason, labels and
// runbook link. generate.mjs renders it to alerts/nylas-sidecar.rules.yml; the same definition
// with `testTiming` (short windows and `for`) is what the end-to-end test loads.
import { Document } from 'yaml';

/** The burn-rate windows (Google SRE workbook, 30-day period) and the SLI windows recorded. */
export const WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'];

/**
 * Test timing: each window is replaced by a short one, so that a test scraping every second
 * sees an alert within seconds. Names of recorded series stay the same (`ratio_rate1h` is then
 * a rate over 30 s): only the durations change, never the expressions.
 */
const TEST_WINDOWS = {
  '5m': '10s',
  '30m': '20s',
  '1h': '30s',
  '2h': '40s',
  '6h': '60s',
  '1d': '90s',
  '3d': '120s',
};

/** Defaults, also the values of the committed alerts/nylas-sidecar.rules.yml. */
export const DEFAULTS = Object.freeze({
  // Nylas publishes an API success rate of 99.9 % (reference/nylas-api.md 1.3): the natural
  // availability objective for an app whose every call goes to Nylas.
  slo: 99.9,
  job: 'nylas-sidecar',
  runbookBase: 'alerts/runbook.md',
  // Nylas's published P90 request time is under 500 ms; 0.5 is a bucket boundary of the default
  // SIDECAR_LATENCY_BUCKETS, so "slower than the target" is an exact bucket, not an estimate.
  latencyThreshold: 0.5,
  // The slowest default poller schedules are every 5 min (grants, accounts): three missed runs
  // in a row is not a blip.
  pollerStaleSeconds: 900,
  // A destination or channel failing this long is a third of the way to the 72 hours after
  // which Nylas marks it failed and stops sending: two days left to fix it.
  failingWarnSeconds: 86400,
  testTiming: false,
});

/** Nylas marks a destination `failed` after 72 hours `failing` (reference/nylas-api.md 3.2). */
const FAILING_TO_FAILED_SECONDS = 72 * 3600;
/**
 * The requests the availability SLI counts: not those the app abandoned (client_aborted), sent too
 * slowly (client_timeout, the sidecar's 408) or that the sidecar refused (refused): none of them
 * says anything about Nylas. The overview page (src/admin/traffic.ts) and the dashboards agree.
 */
export const SLI_REQUESTS = 'error_type!~"client_aborted|client_timeout|refused"';

const SECONDS = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds in a Prometheus duration like `5m` or `90s`. */
export function seconds(d) {
  const m = /^(\d+)([smhd])$/.exec(d);
  if (!m) throw new Error(`unsupported duration ${d}`);
  return Number(m[1]) * SECONDS[m[2]];
}

/** A number as PromQL writes it, without float noise (0.0010000000000000009 -> 0.001). */
function num(x) {
  return String(Number(x.toPrecision(12)));
}

/** The anchor GitHub gives a Markdown heading: lower case, spaces to dashes, punctuation dropped. */
export function anchorOf(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Validated options with defaults applied. */
export function resolveOptions(input = {}) {
  const o = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
  };
  o.slo = Number(o.slo);
  if (!(o.slo > 0 && o.slo < 100))
    throw new Error(`--slo must be a percentage between 0 and 100 (got ${input.slo})`);
  if (!/^[a-zA-Z_][a-zA-Z0-9_:.-]*$/.test(o.job))
    throw new Error(`--job ${o.job} is not a valid job name`);
  o.latencyThreshold = Number(o.latencyThreshold);
  if (!(o.latencyThreshold > 0))
    throw new Error('--latency-threshold must be a positive number of seconds');
  o.pollerStaleSeconds = Number(o.pollerStaleSeconds);
  if (!(o.pollerStaleSeconds > 0)) throw new Error('--poller-stale-seconds must be positive');
  o.failingWarnSeconds = Number(o.failingWarnSeconds);
  if (!(o.failingWarnSeconds > 0 && o.failingWarnSeconds < FAILING_TO_FAILED_SECONDS))
    throw new Error('--failing-warn-seconds must be between 0 and 259200 (72 hours)');
  o.testTiming = Boolean(o.testTiming);
  return o;
}

/**
 * Builds the rule groups. Returns `{ groups, comments }`: `groups` is what Prometheus reads;
 * `comments` maps "groupIndex/ruleIndex" to the reason text written above that rule.
 */
export function buildRules(input = {}) {
  const o = resolveOptions(input);
  const budget = num((100 - o.slo) / 100);
  const objective = num(o.slo / 100);
  const job = `job="${o.job}"`;
  const w = (win) => (o.testTiming ? TEST_WINDOWS[win] : win);
  const ws = (win) => seconds(w(win));
  // `for` under test timing: a couple of evaluations (1 s each), keeping longer waits longer.
  const forOf = (d) =>
    o.testTiming ? `${Math.min(10, Math.max(3, Math.round(seconds(d) / 150)))}s` : d;
  const sel = (metric, ...matchers) => `${metric}{${[job, ...matchers].join(',')}}`;
  const runbook = (alert) => `${o.runbookBase}#${anchorOf(alert)}`;
  const lat = num(o.latencyThreshold);
  // Poller data is read from the freshest polling instance only (SPEC section 10): an instance
  // whose polls fail keeps its last snapshot, and max() over instances would let it win.
  const freshest = (poller) => `nylas_sidecar:poller_freshest{${job},poller="${poller}"}`;
  const fresh = (poller, metric, ...matchers) =>
    `(${sel(metric, ...matchers)} and on (job, instance) ${freshest(poller)})`;
  const q = (text) => text.replace(/"/g, '\\"');
  // While no instance has a successful poll to show (the pollers instance is down, or restarting),
  // a firing poller-derived alert stays as it was instead of resolving for lack of data:
  // "resolved" must mean Nylas said so, not that nobody asked.
  // (Raw series, not the recording rule: that one is written by another group, a step behind.)
  const latched = (name, poller, by = []) =>
    `max by (${['job', ...by].join(', ')}) (ALERTS{alertname="${name}",alertstate="firing",${job}})\nunless on (job) count by (job) (${sel('nylas_poller_last_success_timestamp_seconds', `poller="${poller}"`)})`;

  // The status page as context on our own API alerts: one look tells whether Nylas knows.
  const statusPageNote =
    `{{ with query "max(${q(fresh('status_page', 'nylas_status_page_indicator'))})" }}` +
    '{{ with first . }}{{ if ge .Value 1.0 }}Nylas has an open incident: the status page indicator is ' +
    '{{ if ge .Value 3.0 }}critical{{ else if ge .Value 2.0 }}major{{ else }}minor{{ end }}.' +
    '{{ else if eq .Value -2.0 }}A scheduled maintenance is in progress on the Nylas status page.' +
    '{{ else }}No open incident on the Nylas status page.{{ end }}{{ end }}' +
    '{{ else }}The Nylas status page is not being polled.{{ end }}';

  /** An alert in the house shape: every one has for, severity, tier, summary, description, runbook. */
  const alert = (name, spec) => ({
    rule: {
      alert: name,
      expr: spec.expr,
      for: forOf(spec.for),
      labels: {
        severity: spec.severity,
        nylas_support_tier: String(spec.tier),
        ...(spec.labels ?? {}),
      },
      annotations: {
        summary: spec.summary,
        description: spec.description,
        runbook_url: runbook(name),
        ...(spec.statusPage ? { nylas_status_page: statusPageNote } : {}),
      },
    },
    comment: spec.why,
  });

  // ---- Recording rules: the API SLIs -------------------------------------------------------
  const recording = [];
  const lastSuccess = sel('nylas_poller_last_success_timestamp_seconds');
  recording.push({
    rule: {
      record: 'nylas_sidecar:poller_freshest',
      expr: `0 * (\n  ${lastSuccess}\n  == on (job, poller) group_left\n  max by (job, poller) (${lastSuccess})\n) + 1`,
    },
    comment: [
      'Which instance to believe about each poller: 1 for the one (or ones) whose last successful run is',
      'the newest. Poller-derived alerts and dashboards read that instance only; an instance whose polls',
      'fail keeps its last snapshot, and max() over instances would let its stale data win. Proxy-role',
      'instances export no poller series, so they never count.',
    ].join('\n'),
  });
  const requests = (win) =>
    `sum by (job) (rate(${sel('nylas_api_requests_total', SLI_REQUESTS)}[${w(win)}]))`;
  for (const win of WINDOWS) {
    recording.push({
      rule: { record: `nylas:api_requests:rate${win}`, expr: requests(win) },
      comment:
        win === '5m'
          ? [
              'Requests that count for the availability SLI: everything the app sent, except requests',
              'the app itself abandoned (client_aborted), sent too slowly (client_timeout) or that the',
              'sidecar refused (refused): those say nothing about Nylas.',
              o.testTiming
                ? `TEST TIMING: every window is shortened (5m is ${w('5m')}, 3d is ${w('3d')}).`
                : '',
            ]
              .filter(Boolean)
              .join('\n')
          : undefined,
    });
    recording.push({
      rule: {
        record: `nylas:api_errors:rate${win}`,
        expr:
          `sum by (job) (rate(${sel('nylas_api_requests_total', 'code=~"5.."', SLI_REQUESTS)}[${w(win)}]))\n` +
          `or 0 * nylas:api_requests:rate${win}{${job}}`,
      },
      comment:
        win === '5m'
          ? [
              'Errors: 5xx from Nylas and the sidecar’s own transport failures, which it answers with',
              '502 (upstream_unavailable) or 504 (upstream_timeout). Not 4xx: those are the app’s',
              'requests, and 429s have their own alert (NylasApiRateLimited). "or 0 *" keeps the',
              'series at 0 instead of absent when there has been no error.',
            ].join('\n')
          : undefined,
    });
    recording.push({
      rule: {
        record: `nylas:api_errors:ratio_rate${win}`,
        expr: `nylas:api_errors:rate${win}{${job}}\n/\nnylas:api_requests:rate${win}{${job}}`,
      },
    });
  }
  for (const win of WINDOWS) {
    recording.push({
      rule: {
        record: `nylas:api_slow_requests:ratio_rate${win}`,
        expr:
          `1 - (\n  sum by (job) (rate(${sel('nylas_api_request_duration_seconds_bucket', `le="${lat}"`)}[${w(win)}]))\n` +
          `  /\n  sum by (job) (rate(${sel('nylas_api_request_duration_seconds_count')}[${w(win)}]))\n)`,
      },
      comment:
        win === '5m'
          ? `Latency SLI: the share of requests slower than ${lat} s (an exact bucket boundary). Above 0.1, the\nP90 is above ${lat} s.`
          : undefined,
    });
  }
  for (const win of ['5m', '30m', '1h']) {
    recording.push({
      rule: {
        record: `nylas:api_request_duration_seconds:p90_rate${win}`,
        expr: `histogram_quantile(0.9, sum by (job, le) (rate(${sel('nylas_api_request_duration_seconds_bucket')}[${w(win)}])))`,
      },
    });
  }
  recording.push({
    rule: {
      record: 'nylas:api_transport_failures:ratio_rate5m',
      expr:
        `(\n  sum by (job) (rate(${sel('nylas_api_requests_total', 'error_type=~"upstream_unavailable|upstream_timeout"')}[${w('5m')}]))\n` +
        `  or 0 * nylas:api_requests:rate5m{${job}}\n)\n/\nnylas:api_requests:rate5m{${job}}`,
    },
    comment: 'Share of requests the sidecar could not get any answer for from Nylas.',
  });
  recording.push({
    rule: {
      record: 'nylas:api_availability:objective_ratio',
      expr: `vector(${objective})`,
      labels: { job: o.job },
    },
    comment:
      'The objective and its error budget, for dashboards (the alerts use the literal values).',
  });
  recording.push({
    rule: {
      record: 'nylas:api_availability:error_budget_ratio',
      expr: `vector(${budget})`,
      labels: { job: o.job },
    },
  });

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

  // ---- Status page --------------------------------------------------------------------------
  // The page-wide indicator also moves for the other region's incidents ("EU | ..." while the
  // sidecar talks to api.us.nylas.com): it counts unless those are the only open incidents.
  const onlyOtherRegion = [
    `unless on (job) (`,
    `  sum by (job) ${fresh('status_page', 'nylas_status_page_other_region_incidents')} > 0`,
    `  and on (job) sum by (job) ${fresh('status_page', 'nylas_status_page_incidents')} == 0`,
    ')',
  ];
  const platform = [
    alert('NylasPlatformIncident', {
      expr: [
        `max by (job) ${fresh('status_page', 'nylas_status_page_indicator')} >= 1`,
        ...onlyOtherRegion,
        'or on (job)',
        `sum by (job) (max by (job, impact) ${fresh('status_page', 'nylas_status_page_incidents')}) > 0`,
        'or',
        latched('NylasPlatformIncident', 'status_page'),
      ].join('\n'),
      for: '2m',
      severity: 'info',
      tier: 4,
      summary: 'The Nylas status page reports an incident.',
      description:
        'The Nylas status page (polled by {{ $labels.job }}) reports an open incident or a degraded component' +
        `{{ range query "max by (incident_id, impact, status) ${q(fresh('status_page', 'nylas_status_page_incident_info'))}" }}; incident ` +
        '{{ .Labels.incident_id }} ({{ .Labels.impact }}, {{ .Labels.status }}){{ end }}.',
      why:
        'Context, not an action: our own API alerts say whether the app is affected. 2 minutes is two polls\n' +
        'agreeing. Alertmanager uses it to mark (inhibit) the warning-level API alerts. Read from the freshest\n' +
        'polling instance (each incident listed once); while no instance polls it stays firing (ALERTS).',
    }),
    alert('NylasPlatformMajorOutage', {
      expr: [
        `max by (job) ${fresh('status_page', 'nylas_status_page_indicator')} >= 2`,
        ...onlyOtherRegion,
        'or on (job)',
        `max by (job) ${fresh('status_page', 'nylas_status_page_component_status', 'status="major_outage"')} == 1`,
        // A major or critical incident of our region counts even while the indicator and every
        // component still read operational (pages post the incident before moving them).
        'or on (job)',
        `sum by (job) (max by (job, impact) ${fresh('status_page', 'nylas_status_page_incidents', 'impact=~"major|critical"')}) > 0`,
        'or',
        latched('NylasPlatformMajorOutage', 'status_page'),
      ].join('\n'),
      for: '2m',
      severity: 'warning',
      tier: 1,
      summary: 'The Nylas status page reports a major outage.',
      description:
        'The Nylas status page (polled by {{ $labels.job }}) reports a major or critical indicator, a component ' +
        'in major outage, or a major or critical incident in our region. Expect the app to be affected; check the ' +
        'API dashboards and tell your users.',
      why:
        'Indicator major/critical, a component in major_outage, or an open major/critical incident of our region\n' +
        '(the indicator can stay "none" under a critical incident): worth a ticket even before our own traffic\n' +
        'shows it (not a page: the API alerts page when the app is actually hurt).',
    }),
  ];

  // ---- The sidecar itself ---------------------------------------------------------------------
  const stale = o.testTiming ? 20 : o.pollerStaleSeconds;
  // The role an instance had while it was still scraped: a dead instance exports nothing now.
  const pollersRole = `last_over_time(${sel('nylas_sidecar_role', 'role="pollers"')}[${w('1h')}])`;
  const sidecar = [
    alert('NylasSidecarPollerStale', {
      expr: [
        // The hourly grants census has its own alert (NylasGrantsCensusStale).
        `time() - ${sel('nylas_poller_last_success_timestamp_seconds', 'poller!="grants_census"')} > ${stale}`,
        'or',
        '(',
        `  sum by (job, instance, poller) (rate(${sel('nylas_poller_runs_total', 'result="error"')}[${w('30m')}])) > 0`,
        '  unless on (job, instance, poller)',
        `  sum by (job, instance, poller) (rate(${sel('nylas_poller_runs_total', 'result="success"')}[${w('30m')}])) > 0`,
        ')',
      ].join('\n'),
      for: '5m',
      severity: 'warning',
      tier: 3,
      summary: 'A sidecar poller has not succeeded recently.',
      description:
        'The {{ $labels.poller }} poller of {{ $labels.instance }} ({{ $labels.job }}) has not completed a successful run ' +
        `recently (no success for ${stale} s, or only errors over 30 minutes). Its metrics are stale; dashboards and ` +
        'alerts read the freshest polling instance instead, if there is one.',
      why:
        `Per instance: no success for ${stale} s (three runs of the slowest default schedule), or only failed runs over\n` +
        '30m (a poller that never succeeded has no last-success timestamp). One stale instance among fresh ones\n' +
        'is named, not hidden behind max().',
    }),
    alert('NylasSidecarNoPoller', {
      expr: [
        `absent(${sel('nylas_sidecar_role', 'role=~"pollers|all"')})`,
        'and on ()',
        `count(${sel('up')}) > 0`,
      ].join('\n'),
      for: '10m',
      severity: 'warning',
      tier: 4,
      summary: 'No nylas-sidecar instance polls Nylas.',
      description:
        'No instance of {{ $labels.job }} runs the pollers (SIDECAR_ROLE=pollers or all): grant health, webhook ' +
        'destinations and the Nylas status page are not being watched. Open poller-derived alerts stay as they ' +
        "were until an instance polls again. The app's own calls are not affected.",
      why:
        'The pollers run in one instance (SIDECAR_ROLE=pollers) for all app replicas; without it, nothing alerts on\n' +
        'grants, webhooks or incidents. Only while some target of the job is scraped (else NylasSidecarDown).',
    }),
    alert('NylasSidecarInstanceErrors', {
      expr: [
        '(',
        `  sum by (job, instance) (rate(${sel('nylas_api_requests_total', 'code=~"5.."', SLI_REQUESTS)}[${w('5m')}]))`,
        '  /',
        `  sum by (job, instance) (rate(${sel('nylas_api_requests_total', SLI_REQUESTS)}[${w('5m')}]))`,
        ') > 0.1',
        `> on (job) group_left () (3 * nylas:api_errors:ratio_rate5m{${job}})`,
        'and on (job, instance)',
        `sum by (job, instance) (rate(${sel('nylas_api_requests_total', 'code=~"5.."', SLI_REQUESTS)}[${w('5m')}])) * ${ws('5m')} >= 10`,
      ].join('\n'),
      for: '10m',
      severity: 'warning',
      tier: 3,
      summary: 'One sidecar replica fails far more requests than the others.',
      description:
        '{{ $value | humanizePercentage }} of the requests through {{ $labels.instance }} ({{ $labels.job }}) failed ' +
        '(5xx or no answer) over the last 5 minutes, more than three times the share of the job as a whole: ' +
        'that pod (its network, DNS, or its sidecar) is the problem, not Nylas.',
      why:
        'The SLO alerts sum every replica, so one bad pod among many stays under their thresholds (one of 70\n' +
        'replicas failing everything is 1.4 % of the job). More than 10 % of its requests, over three times the\n' +
        "job's share, and at least 10 errors: a replica to look at. When all replicas fail alike, it stays\n" +
        'silent and the SLO alerts speak.',
    }),
    alert('NylasSidecarDown', {
      expr: [
        `${sel('up')} == 0 unless on (job, instance) ${pollersRole}`,
        'or',
        `absent(${sel('up')})`,
      ].join('\n'),
      for: '3m',
      severity: 'critical',
      tier: 4,
      summary: 'The nylas-sidecar is down or not scraped.',
      description:
        'Prometheus cannot scrape {{ with $labels.instance }}{{ . }} of {{ end }}job {{ $labels.job }}. The sidecar ' +
        "proxies the app's Nylas traffic: if it is down, so are the app's calls to Nylas through it, and every " +
        'other Nylas alert is blind to them.',
      why:
        'up == 0 of an instance that proxies (role proxy or all, or not known): the target fails its scrapes;\n' +
        'absent(up): no target of this job at all (wrong job label, or service discovery lost it). 3 minutes\n' +
        'rides out a restart. The pollers instance has its own wording below.',
    }),
    alert('NylasSidecarDown', {
      expr: `${sel('up')} == 0 and on (job, instance) ${pollersRole}`,
      for: '3m',
      severity: 'warning',
      tier: 4,
      summary: 'The nylas-sidecar pollers instance is down or not scraped.',
      description:
        'Prometheus cannot scrape the pollers instance {{ $labels.instance }} of job {{ $labels.job }}. Grants, ' +
        "webhook destinations and the Nylas status page are not being polled; the app's calls to Nylas do not " +
        'go through this instance and are not affected.',
      why:
        'The pollers instance (SIDECAR_ROLE=pollers, known from its last hour of nylas_sidecar_role) proxies\n' +
        'nothing: its being down blinds the poller-derived alerts but does not hurt the app. A ticket, not a page.',
    }),
  ];

  const channels = channelAndHeadingRules(o, { alert, sel, job });

  const groups = [
    { name: 'nylas-sidecar.sli', rules: recording },
    { name: 'nylas-sidecar.api', rules: api },
    { name: 'nylas-sidecar.grants', rules: grants },
    { name: 'nylas-sidecar.webhooks', rules: webhooks },
    { name: 'nylas-sidecar.platform', rules: platform },
    { name: 'nylas-sidecar.sidecar', rules: sidecar },
    { name: 'nylas-sidecar.channels', rules: channels },
  ];
  const comments = {};
  groups.forEach((g, gi) =>
    g.rules.forEach((r, ri) => {
      if (r.comment) comments[`${gi}/${ri}`] = r.comment;
    }),
  );
  return {
    options: o,
    groups: groups.map((g) => ({ name: g.name, rules: g.rules.map((r) => r.rule) })),
    comments,
  };
}

/**
 * Notification channels, destinations on their way to `failed`, and grant health from
 * notifications (issue 16). Poller-derived series are read from the freshest polling instance
 * (the nylas_sidecar:poller_freshest recording rule), as every poller-derived alert does.
 */
function channelAndHeadingRules(o, { alert, sel }) {
  const freshest = (poller) =>
    `and on (job, instance) nylas_sidecar:poller_freshest{poller="${poller}"}`;
  const warnHours = num(o.failingWarnSeconds / 3600);
  const leftSeconds = FAILING_TO_FAILED_SECONDS - o.failingWarnSeconds;
  const towardsFailed = (status, since, by, idLabel) =>
    [
      `max by (${by}) (`,
      `  (${sel(since)} + ${FAILING_TO_FAILED_SECONDS})`,
      `  and on (job, instance, ${idLabel}) (${sel(status, 'status="failing"')} == 1)`,
      `  ${freshest('webhooks')}`,
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
          `  max by (job, grant_id, provider) (${sel('nylas_grant_invalid', 'source="poll"')} ${freshest('grants')})`,
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
      expr: `max by (job, channel_id, type) (${sel('nylas_channel_status', 'status="failing"')} ${freshest('webhooks')}) == 1`,
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
      expr: `max by (job, channel_id, type) (${sel('nylas_channel_status', 'status="failed"')} ${freshest('webhooks')}) == 1`,
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

/** Every alert name the rules define (each once). */
export function alertNames(groups) {
  return [...new Set(groups.flatMap((g) => g.rules.map((r) => r.alert).filter(Boolean)))];
}

/** The rule file as YAML text, with the header and the reasons as comments. */
export function renderRules(input = {}) {
  const { options: o, groups, comments } = buildRules(input);
  const doc = new Document({ groups });
  const flags = [
    o.slo !== DEFAULTS.slo ? `--slo ${o.slo}` : '',
    o.job !== DEFAULTS.job ? `--job ${o.job}` : '',
    o.runbookBase !== DEFAULTS.runbookBase ? `--runbook-base ${o.runbookBase}` : '',
    o.latencyThreshold !== DEFAULTS.latencyThreshold
      ? `--latency-threshold ${o.latencyThreshold}`
      : '',
    o.pollerStaleSeconds !== DEFAULTS.pollerStaleSeconds
      ? `--poller-stale-seconds ${o.pollerStaleSeconds}`
      : '',
    o.failingWarnSeconds !== DEFAULTS.failingWarnSeconds
      ? `--failing-warn-seconds ${o.failingWarnSeconds}`
      : '',
    o.testTiming ? '--test-timing' : '',
  ].filter(Boolean);
  doc.commentBefore = [
    ' Prometheus rules for nylas-sidecar: API SLI recording rules and the alerts of SPEC section 8.',
    ` GENERATED by \`node scripts/alerts/generate.mjs${flags.length ? ` ${flags.join(' ')}` : ''}\`: do not edit by hand,`,
    ' change scripts/alerts/rules.mjs and run `npm run alerts:generate` (a test checks this file matches).',
    ` Availability objective ${o.slo} %, job label "${o.job}". Runbook: alerts/runbook.md.`,
    ...(o.testTiming
      ? [
          ' TEST TIMING: windows and `for` are shortened for tests scraping every second; never deploy this file.',
        ]
      : []),
  ].join('\n');
  for (const [key, text] of Object.entries(comments)) {
    const [gi, ri] = key.split('/').map(Number);
    const node = doc.getIn(['groups', gi, 'rules', ri], true);
    node.commentBefore = text
      .split('\n')
      .map((l) => ` ${l}`)
      .join('\n');
  }
  return doc.toString({ lineWidth: 0 });
}
