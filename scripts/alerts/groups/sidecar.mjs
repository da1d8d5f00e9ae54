// The sidecar itself: stale pollers, no instance polling, one replica failing more than the
// others, targets down. These say where to look in the deployment, not at Nylas.
import { SLI_REQUESTS } from '../lib.mjs';

/** The rules of this group, built with the shared helpers of `ruleContext` (lib.mjs). */
export function sidecarRules({ o, job, sel, w, ws, alert }) {
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
      // absent() cannot say which cluster lacks the pollers: with a cluster label, the clusters
      // where some target is scraped but none runs the pollers (aggregations then keep the label).
      expr: (o.clusterLabel
        ? [
            `count by (job) (${sel('up')}) > 0`,
            'unless on (job)',
            `count by (job) (${sel('nylas_sidecar_role', 'role=~"pollers|all"')})`,
          ]
        : [
            `absent(${sel('nylas_sidecar_role', 'role=~"pollers|all"')})`,
            'and on ()',
            `count(${sel('up')}) > 0`,
          ]
      ).join('\n'),
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
        // absent() sees no cluster: with a cluster label, also a cluster whose every target went
        // away (or whose Prometheus stopped writing) in the last hour while others still report.
        ...(o.clusterLabel
          ? [
              'or',
              '(',
              `  count by (job) (last_over_time(${sel('up')}[${w('1h')}]))`,
              '  unless on (job)',
              `  count by (job) (${sel('up')})`,
              ')',
            ]
          : []),
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
        'rides out a restart. The pollers instance has its own wording below.' +
        (o.clusterLabel
          ? `\nPer ${o.clusterLabel}: a cluster whose every target went away in the last hour while others report.`
          : ''),
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
  return sidecar;
}
