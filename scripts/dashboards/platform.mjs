// Nylas platform: the Nylas status page as the status-page poller sees it, and the health of the
// sidecar itself (pollers, scrape, process) (SPEC section 5, status page, pollers, sidecar).
import {
  JOB,
  dashLink,
  dashboard,
  enumMappings,
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

const INDICATOR = enumMappings([
  ['none', 'green'],
  ['minor', 'yellow'],
  ['major', 'orange'],
  ['critical', 'red'],
]);
const COMPONENT_STATES = [
  'operational',
  'under_maintenance',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'unknown',
];
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
      description: 'The overall indicator of status.nylas.com.',
      graph: false,
      mappings: INDICATOR,
      thresholds: steps('green', [1, 'yellow'], [2, 'orange'], [3, 'red']),
      links: [dashLink('API overview', 'nylas-api-overview')],
      queries: [q(`max(nylas_status_page_indicator${sel(JOB)})`, 'indicator')],
      w: 6,
    }),
    stat({
      title: 'Unresolved incidents',
      unit: 'short',
      graph: false,
      thresholds: steps('green', [1, 'red']),
      queries: [q(`sum(max by (impact) (nylas_status_page_incidents${sel(JOB)}))`, 'incidents')],
      w: 6,
    }),
    stat({
      title: 'Maintenance in progress',
      unit: 'short',
      graph: false,
      thresholds: steps('green', [1, 'blue']),
      queries: [q(`max(nylas_status_page_maintenance_active${sel(JOB)})`, 'maintenance')],
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
      queries: [q(`max(nylas_status_page_indicator${sel(JOB)})`, 'indicator')],
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
          stateSetIndex('nylas_status_page_component_status', 'component', COMPONENT_STATES, [
            JOB,
            COMPONENT,
          ]),
          '{{component}}',
        ),
      ],
    }),
    table({
      title: 'Incident details',
      description: 'Details and updates are on status.nylas.com under the incident ID.',
      hide: ['Time', 'Value'],
      rename: { incident_id: 'Incident ID', impact: 'Impact', status: 'Status' },
      queries: [
        q(`max by (incident_id, impact, status) (nylas_status_page_incident_info${sel(JOB)})`, ''),
      ],
    }),
    timeseries({
      title: 'Incidents by impact',
      unit: 'short',
      stack: true,
      queries: [q(`max by (impact) (nylas_status_page_incidents${sel(JOB)})`, '{{impact}}')],
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
          `sum by (metric) (increase(nylas_sidecar_series_dropped_total${sel(JOB)}[$__rate_interval]))`,
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
