// Nylas platform: the Nylas status page as the status-page poller sees it, and the health of the
// sidecar itself (pollers, scrape, process).
import {
  JOB,
  dashLink,
  dashboard,
  enumMappings,
  fresh,
  labelVar,
  q,
  row,
  sel,
  stat,
  stateSetIndex,
  stateTimeline,
  statusPageAnnotations,
  steps,
  table,
  timeseries,
} from './lib.mjs';

/**
 * nylas_status_page_indicator's values (src/pollers/labels.ts INDICATOR_VALUES) by name:
 * maintenance is -2 so that it sits below every incident value and never reads as an outage.
 */
const INDICATOR = [
  {
    type: 'value',
    options: Object.fromEntries(
      [
        [-2, 'maintenance', 'blue'],
        [-1, 'unknown', 'text'],
        [0, 'none', 'green'],
        [1, 'minor', 'yellow'],
        [2, 'major', 'orange'],
        [3, 'critical', 'red'],
      ].map(([value, text, color], index) => [String(value), { text, color, index }]),
    ),
  },
];
// The component statuses the status-page poller reports, from its built label list, so that the
// panels map exactly those.
const LABELS = new URL('../../dist/src/pollers/labels.js', import.meta.url);
const { COMPONENT_STATUSES: COMPONENT_STATES } = await import(LABELS.href).catch((err) => {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  process.stderr.write(`${LABELS.pathname} is missing: run npm run build first\n`);
  process.exit(2);
});
const COMPONENT = 'component=~"$component"';

export default dashboard({
  uid: 'nylas-platform',
  title: 'Nylas platform',
  description:
    'The Nylas status page (indicator, components, incidents, maintenance) and the health of nylas-sidecar itself: poller freshness, scrape and process.',
  tags: ['platform'],
  variables: [labelVar('component', 'Component', 'nylas_status_page_component_status')],
  annotations: statusPageAnnotations(),
  panels: [
    row('Nylas status page'),
    stat({
      title: 'Status page indicator',
      description:
        'The overall indicator of status.nylas.com: none, minor, major, critical, or maintenance (a scheduled maintenance in progress and nothing worse).',
      graph: false,
      mappings: INDICATOR,
      thresholds: steps('green', [1, 'yellow'], [2, 'orange'], [3, 'red']),
      links: [dashLink('API overview', 'nylas-api-overview')],
      queries: [q(`max${fresh('nylas_status_page_indicator', 'status_page')}`, 'indicator')],
      w: 6,
    }),
    stat({
      title: 'Unresolved incidents',
      unit: 'short',
      graph: false,
      thresholds: steps('green', [1, 'red']),
      queries: [
        q(
          `sum(max by (impact) ${fresh('nylas_status_page_incidents', 'status_page')}) or vector(0)`,
          'incidents',
        ),
      ],
      w: 6,
    }),
    stat({
      title: 'Maintenance in progress',
      unit: 'short',
      graph: false,
      thresholds: steps('green', [1, 'blue']),
      queries: [
        q(`max${fresh('nylas_status_page_maintenance_active', 'status_page')}`, 'maintenance'),
      ],
      w: 6,
    }),
    stat({
      title: 'Status page poll age',
      description: 'Time since the status-page poller last succeeded (every minute by default).',
      unit: 's',
      // 5 min: five missed runs of the default schedule; the last good snapshot is shown until then.
      thresholds: steps('green', [300, 'red']),
      queries: [
        q(
          `time() - max(nylas_poller_last_success_timestamp_seconds${sel(JOB, 'poller="status_page"')})`,
          'age',
        ),
      ],
      w: 6,
    }),
    stateTimeline({
      title: 'Indicator over time',
      h: 4,
      w: 24,
      mappings: INDICATOR,
      queries: [q(`max${fresh('nylas_status_page_indicator', 'status_page')}`, 'indicator')],
    }),
    stateTimeline({
      title: 'Components over time',
      h: 10,
      w: 24,
      mappings: enumMappings([
        ['operational', 'green'],
        ['under maintenance', 'blue'],
        ['degraded performance', 'yellow'],
        ['partial outage', 'orange'],
        ['major outage', 'red'],
        ['unknown', 'text'],
      ]),
      queries: [
        q(
          stateSetIndex(
            'nylas_status_page_component_status',
            'status_page',
            // Two components of the same name in different groups are two rows.
            'group, component',
            COMPONENT_STATES,
            [COMPONENT],
          ),
          '{{component}} {{group}}',
        ),
      ],
    }),
    table({
      title: 'Incident details',
      description: 'Details and updates are on status.nylas.com under the incident ID.',
      hide: ['Time', 'Value'],
      rename: { incident_id: 'Incident ID', impact: 'Impact', status: 'Status' },
      queries: [
        q(
          `max by (incident_id, impact, status) ${fresh('nylas_status_page_incident_info', 'status_page')}`,
          '',
        ),
      ],
    }),
    timeseries({
      title: 'Incidents by impact',
      unit: 'short',
      stack: true,
      queries: [
        q(`max by (impact) ${fresh('nylas_status_page_incidents', 'status_page')}`, '{{impact}}'),
      ],
    }),

    row('nylas-sidecar'),
    stat({
      title: 'Scrape up',
      description: 'Whether Prometheus reached the sidecar’s admin listener at the last scrape.',
      graph: false,
      mappings: enumMappings([
        ['down', 'red'],
        ['up', 'green'],
      ]),
      thresholds: steps('red', [1, 'green']),
      queries: [q(`min(up${sel(JOB)})`, 'up')],
      w: 6,
    }),
    table({
      title: 'Versions',
      hide: ['Time', 'Value'],
      rename: { instance: 'Instance', version: 'Version', node_version: 'Node.js' },
      queries: [
        q(`max by (instance, version, node_version) (nylas_sidecar_build_info${sel(JOB)})`, ''),
      ],
      w: 18,
      h: 4,
    }),
    stat({
      title: 'Polling instances',
      description:
        'Instances that run the pollers (SIDECAR_ROLE=pollers or all). One is the intended shape: with none, nothing watches grants, webhooks or the status page (NylasSidecarNoPoller); with several, each one spends the application’s rate limits.',
      unit: 'short',
      graph: false,
      thresholds: steps('red', [1, 'green'], [2, 'orange']),
      queries: [
        q(`count(nylas_sidecar_role${sel(JOB, 'role=~"pollers|all"')}) or vector(0)`, 'polling'),
      ],
      w: 6,
    }),
    stat({
      title: 'Proxy replicas',
      description: 'Instances that proxy the app’s calls (SIDECAR_ROLE=proxy or all).',
      unit: 'short',
      graph: false,
      queries: [
        q(`count(nylas_sidecar_role${sel(JOB, 'role=~"proxy|all"')}) or vector(0)`, 'proxying'),
      ],
      w: 6,
    }),
    table({
      title: 'Pollers by instance',
      description:
        'Seconds since each poller of each polling instance last succeeded. Alerts and panels read the freshest instance for each poller; a stale one is named by NylasSidecarPollerStale.',
      unit: 's',
      hide: ['Time'],
      rename: { instance: 'Instance', poller: 'Poller', Value: 'Seconds since success' },
      thresholds: steps('green', [900, 'red']),
      queries: [
        q(
          `time() - max by (instance, poller) (nylas_poller_last_success_timestamp_seconds${sel(JOB)})`,
          '',
        ),
      ],
      w: 12,
      h: 6,
    }),
    timeseries({
      title: 'Poller requests to Nylas',
      description:
        'Requests the pollers (and /support lookups) make to Nylas and the status page, by API and status code. They share the application’s 50 requests/s limit with the app; 429s here mean polling too often (or too many polling instances).',
      unit: 'reqps',
      stack: true,
      queries: [
        q(
          `sum by (api, code) (rate(nylas_poller_requests_total${sel(JOB)}[$__rate_interval]))`,
          '{{api}} {{code}}',
        ),
      ],
    }),
    timeseries({
      title: 'Poller 429s',
      description: 'Rate-limited poller requests, by API and instance.',
      unit: 'reqps',
      queries: [
        q(
          `sum by (api, instance) (rate(nylas_poller_requests_total${sel(JOB, 'code="429"')}[$__rate_interval])) or vector(0)`,
          '{{api}} {{instance}}',
        ),
      ],
    }),
    timeseries({
      title: 'Time since each poller last succeeded',
      description:
        'Grants and accounts run every 5 min by default, webhooks and the status page every minute; a poller that stops succeeding keeps its last snapshot.',
      unit: 's',
      thresholdLine: true,
      // 15 min: three missed runs of the slowest default schedule.
      thresholds: steps('green', [900, 'red']),
      queries: [
        q(
          `time() - max by (poller) (nylas_poller_last_success_timestamp_seconds${sel(JOB)})`,
          '{{poller}}',
        ),
      ],
    }),
    timeseries({
      title: 'Poller runs by result',
      unit: 'short',
      stack: true,
      links: [
        dashLink('Grants and accounts', 'nylas-grants'),
        dashLink('Webhooks', 'nylas-webhooks'),
      ],
      queries: [
        q(
          `sum by (poller, result) (increase(nylas_poller_runs_total${sel(JOB)}[$__rate_interval]))`,
          '{{poller}} {{result}}',
        ),
      ],
    }),
    timeseries({
      title: 'Poller duration (P90)',
      unit: 's',
      queries: [
        q(
          `histogram_quantile(0.9, sum by (le, poller) (rate(nylas_poller_duration_seconds_bucket${sel(JOB)}[$__rate_interval])))`,
          '{{poller}}',
        ),
      ],
    }),
    timeseries({
      title: 'Series dropped by the cardinality cap',
      unit: 'short',
      queries: [
        q(
          // max, not sum: every polling instance drops the same grant series.
          `max by (metric) (increase(nylas_sidecar_series_dropped_total${sel(JOB)}[$__rate_interval]))`,
          '{{metric}}',
        ),
      ],
    }),
    timeseries({
      title: 'Memory',
      unit: 'bytes',
      w: 8,
      queries: [
        q(`max by (instance) (process_resident_memory_bytes${sel(JOB)})`, 'RSS {{instance}}'),
        q(`max by (instance) (nodejs_heap_size_used_bytes${sel(JOB)})`, 'heap used {{instance}}'),
      ],
    }),
    timeseries({
      title: 'CPU',
      unit: 'percentunit',
      w: 8,
      queries: [
        q(
          `sum by (instance) (rate(process_cpu_seconds_total${sel(JOB)}[$__rate_interval]))`,
          '{{instance}}',
        ),
      ],
    }),
    timeseries({
      title: 'Event loop lag (P99)',
      description: 'A busy event loop delays every proxied request.',
      unit: 's',
      w: 8,
      // 100 ms of event-loop delay is added to every request: far above what the proxy itself costs.
      thresholdLine: true,
      thresholds: steps('green', [0.1, 'orange']),
      queries: [
        q(`max by (instance) (nodejs_eventloop_lag_p99_seconds${sel(JOB)})`, '{{instance}}'),
      ],
    }),
  ],
});
