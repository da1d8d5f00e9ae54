// What every rule group shares: the options and their defaults, the burn-rate windows, and the
// helpers that write selectors, windows and alerts in the house shape. Each group in groups/
// builds its rules from the context `ruleContext` returns; rules.mjs puts the groups together.
import { clusterAnnotations, validClusterLabel } from './cluster.mjs';

/** The burn-rate windows (Google SRE workbook, 30-day period) and the SLI windows recorded. */
export const WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'];

/**
 * Test timing: each window is replaced by a short one, so that a test scraping every second
 * sees an alert within seconds. Names of recorded series stay the same (`ratio_rate1h` is then
 * a rate over 30 s): only the durations change, never the expressions.
 */
export const TEST_WINDOWS = {
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
  // Nylas publishes an API success rate of 99.9 %: the natural availability objective for an
  // app whose every call goes to Nylas (a stricter one would page for Nylas's own error budget).
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
  // Off: one cluster, or rules evaluated inside each cluster. Set (e.g. `cluster`) when the rules
  // run in a global store that several clusters remote_write into, each with this external label.
  clusterLabel: '',
  testTiming: false,
});

/**
 * Nylas marks a webhook destination or notification channel `failed` after 72 hours `failing`,
 * then stops sending to it: the deadline the "towards failed" alerts count down to.
 */
export const FAILING_TO_FAILED_SECONDS = 72 * 3600;
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
export function num(x) {
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
  o.clusterLabel = validClusterLabel(o.clusterLabel);
  o.testTiming = Boolean(o.testTiming);
  return o;
}

/**
 * The helpers every group builds its rules with, for resolved options `o`. Built once per
 * generation, so every group writes selectors, windows and alerts the same way.
 */
export function ruleContext(o) {
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
  // Poller data is read from the freshest polling instance only: an instance whose polls fail
  // keeps exporting its last snapshot, and max() over instances would let that stale data win.
  // `freshest` is the series naming that instance (the nylas_sidecar:poller_freshest recording
  // rule), for the job as every selector.
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

  // The status page as context on our own API alerts, so the person paged sees at once whether
  // Nylas already knows.
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
      annotations: clusterAnnotations(
        {
          summary: spec.summary,
          description: spec.description,
          runbook_url: runbook(name),
          ...(spec.statusPage ? { nylas_status_page: statusPageNote } : {}),
        },
        o.clusterLabel,
      ),
    },
    comment: spec.why,
  });

  return {
    o,
    job,
    sel,
    w,
    ws,
    forOf,
    runbook,
    lat,
    budget,
    objective,
    freshest,
    fresh,
    q,
    latched,
    statusPageNote,
    alert,
  };
}
