// Nylas API overview: what the app's calls through the proxy look like, from the proxy's metrics.
import {
  JOB,
  LATENCY_TARGET_S,
  SLO,
  dashLink,
  dashboard,
  heatmap,
  labelVar,
  q,
  row,
  sel,
  stat,
  statusPageAnnotations,
  steps,
  table,
  timeseries,
} from './lib.mjs';
import { SLI_REQUESTS } from '../alerts/rules.mjs';

const ROUTE = 'route=~"$route"';
// The latency histogram is by status class alone unless the sidecar runs with
// SIDECAR_LATENCY_BY_ROUTE=true (a series per bucket and route costs most of a replica's series).
// The empty alternative keeps the latency panels filled either way: by route when the histogram
// has routes, over every route when it has none.
const LAT_ROUTE = 'route=~"$route|"';
const LAT_NOTE =
  'By route only when the sidecar runs with SIDECAR_LATENCY_BY_ROUTE=true; otherwise over every route, whatever $route says.';
// Every replica's sidecar reports its own traffic; sums add them up (the job's traffic), the
// instance variable narrows to one or a few replicas.
const INSTANCE = 'instance=~"$instance"';
const REQ = 'nylas_api_requests_total';
const DUR = 'nylas_api_request_duration_seconds';
// SLO errors: 5xx, including the sidecar's own 502/504 for transport failures. Not 4xx and not
// 429 (the app's own doing, with panels of their own); not 499 (the app went away).
const ERR = 'code=~"5.."';
// Requests the app abandoned or sent too slowly, and those the sidecar refused, say nothing about
// Nylas: out of the SLI altogether, the same selector as the recording rules of alerts/
// (nylas:api_requests:*, nylas:api_errors:*).
const SLI = SLI_REQUESTS;
const BUDGET = +(1 - SLO).toFixed(6);

const rate = (metric, ...m) => `rate(${metric}${sel(JOB, INSTANCE, ...m)}[$__rate_interval])`;
/** Per replica, over the last 5 minutes (the per-replica table). */
const byInstance = (metric, ...m) => `sum by (instance) (rate(${metric}${sel(JOB, ...m)}[5m]))`;
const sumRate = (by, metric, ...m) => `sum${by ? ` by (${by})` : ''} (${rate(metric, ...m)})`;
const quantile = (phi, by, ...m) =>
  `histogram_quantile(${phi}, sum by (${['le', by].filter(Boolean).join(', ')}) (${rate(`${DUR}_bucket`, ...m)}))`;

export default dashboard({
  uid: 'nylas-api-overview',
  title: 'Nylas API overview',
  description:
    'Calls the app makes to the Nylas API through nylas-sidecar: traffic, errors against the availability SLO, latency against the P90 target, rate limits and provider usage.',
  tags: ['api'],
  variables: [labelVar('instance', 'Instance', REQ), labelVar('route', 'Route', REQ)],
  annotations: statusPageAnnotations(),
  panels: [
    row('Service level'),
    stat({
      title: 'Requests per second',
      description: 'All proxied requests on the selected routes.',
      unit: 'reqps',
      decimals: 2,
      queries: [q(sumRate('', REQ, ROUTE), 'req/s')],
    }),
    stat({
      title: 'Error ratio (5xx)',
      description: `Share of requests answered with a 5xx (from Nylas or from the sidecar for a transport failure). The SLO allows ${BUDGET * 100}%.`,
      unit: 'percentunit',
      decimals: 3,
      thresholds: steps('green', [BUDGET, 'red']),
      queries: [
        q(
          `(${sumRate('', REQ, ROUTE, ERR, SLI)} or vector(0)) / ${sumRate('', REQ, ROUTE, SLI)}`,
          'errors',
        ),
      ],
    }),
    stat({
      title: 'Error budget remaining (30 d, all routes)',
      description: `Share of the 30-day error budget of a ${SLO * 100}% availability SLO (Nylas's published success rate) not yet spent. Below 0: the SLO is broken for this window.`,
      unit: 'percentunit',
      decimals: 1,
      graph: false,
      thresholds: steps('red', [0, 'orange'], [0.25, 'green']),
      queries: [
        q(
          `1 - ((sum(increase(${REQ}${sel(JOB, ERR, SLI)}[30d])) or vector(0)) / sum(increase(${REQ}${sel(JOB, SLI)}[30d]))) / ${BUDGET}`,
          'budget',
        ),
      ],
    }),
    stat({
      title: 'P90 latency',
      description: `90th percentile of request duration. Nylas publishes a P90 under ${LATENCY_TARGET_S} s. ${LAT_NOTE}`,
      unit: 's',
      decimals: 3,
      thresholds: steps('green', [LATENCY_TARGET_S, 'red']),
      queries: [q(quantile(0.9, '', LAT_ROUTE), 'P90')],
    }),
    stat({
      title: `Requests under ${LATENCY_TARGET_S} s`,
      description: `Share of requests that took at most ${LATENCY_TARGET_S} s (the histogram bucket at the P90 target). Below 90%, the P90 target is missed. ${LAT_NOTE}`,
      unit: 'percentunit',
      decimals: 1,
      min: 0,
      max: 1,
      thresholds: steps('red', [0.9, 'green']),
      queries: [
        q(
          `sum(${rate(`${DUR}_bucket`, LAT_ROUTE, `le="${LATENCY_TARGET_S}"`)}) / sum(${rate(`${DUR}_count`, LAT_ROUTE)})`,
          'fast',
        ),
      ],
    }),
    stat({
      title: 'In-flight requests',
      description: 'Proxied requests waiting for Nylas right now.',
      unit: 'short',
      queries: [q(`sum(nylas_api_inflight_requests${sel(JOB, INSTANCE)})`, 'in flight')],
    }),
    timeseries({
      title: 'Requests by route',
      unit: 'reqps',
      stack: true,
      legendTable: true,
      queries: [q(sumRate('route', REQ, ROUTE), '{{route}}')],
    }),
    timeseries({
      title: 'Requests by status code',
      unit: 'reqps',
      stack: true,
      queries: [q(sumRate('code', REQ, ROUTE), '{{code}}')],
    }),
    timeseries({
      title: 'Error ratio against the SLO',
      description: `5xx share of requests; the dashed line is the ${BUDGET * 100}% the SLO allows.`,
      unit: 'percentunit',
      min: 0,
      thresholdLine: true,
      thresholds: steps('green', [BUDGET, 'red']),
      queries: [
        q(
          `(${sumRate('', REQ, ROUTE, ERR, SLI)} or vector(0)) / ${sumRate('', REQ, ROUTE, SLI)}`,
          'all routes',
        ),
        q(
          `${sumRate('route', REQ, ROUTE, ERR, SLI)} / ${sumRate('route', REQ, ROUTE, SLI)}`,
          '{{route}}',
        ),
      ],
    }),
    timeseries({
      title: 'Error budget burn rate',
      description:
        'How fast the error budget is being spent (1 = exactly the budget over 30 days). The error-budget alert pages at 14.4 over 1 h and 6 over 6 h.',
      unit: 'short',
      min: 0,
      thresholdLine: true,
      thresholds: steps('green', [1, 'orange'], [14.4, 'red']),
      queries: [
        q(
          `((sum(rate(${REQ}${sel(JOB, ERR, SLI)}[1h])) or vector(0)) / sum(rate(${REQ}${sel(JOB, SLI)}[1h]))) / ${BUDGET}`,
          '1 h window',
        ),
        q(
          `((sum(rate(${REQ}${sel(JOB, ERR, SLI)}[6h])) or vector(0)) / sum(rate(${REQ}${sel(JOB, SLI)}[6h]))) / ${BUDGET}`,
          '6 h window',
        ),
      ],
    }),

    row('Latency'),
    timeseries({
      title: 'Latency percentiles',
      description: `Dots are exemplars: click one to open its trace. The dashed line is Nylas's ${LATENCY_TARGET_S} s P90 target. ${LAT_NOTE}`,
      unit: 's',
      thresholdLine: true,
      thresholds: steps('green', [LATENCY_TARGET_S, 'red']),
      queries: [
        q(quantile(0.5, '', LAT_ROUTE), 'P50', { exemplar: true }),
        q(quantile(0.9, '', LAT_ROUTE), 'P90'),
        q(quantile(0.99, '', LAT_ROUTE), 'P99'),
      ],
    }),
    timeseries({
      title: 'P90 latency by route and status class',
      description: `Dots are exemplars: click one to open its trace. ${LAT_NOTE}`,
      unit: 's',
      legendTable: true,
      thresholdLine: true,
      thresholds: steps('green', [LATENCY_TARGET_S, 'red']),
      queries: [
        q(quantile(0.9, 'route, status_class', LAT_ROUTE), '{{route}} {{status_class}}', {
          exemplar: true,
        }),
      ],
    }),
    heatmap({
      title: 'Latency distribution: $route',
      description: `Request durations per histogram bucket, one heatmap per selected route; exemplars link to traces. ${LAT_NOTE}`,
      repeat: 'route',
      w: 12,
      queries: [
        q(`sum by (le) (${rate(`${DUR}_bucket`, LAT_ROUTE)})`, '{{le}}', { exemplar: true }),
      ],
    }),

    row('Errors and rate limits'),
    timeseries({
      title: 'Errors by type',
      description:
        'Nylas error.type as sent, or the sidecar transport class (upstream_unavailable, upstream_timeout, client_aborted); unparsed means a non-JSON error body.',
      unit: 'reqps',
      stack: true,
      legendTable: true,
      queries: [q(sumRate('error_type', REQ, ROUTE, 'error_type!=""'), '{{error_type}}')],
    }),
    timeseries({
      title: '429s by scope',
      description:
        'nylas: the application or grant limit; provider: the mail provider throttled (the 429 carries a provider_error, and may last about 20 min).',
      unit: 'reqps',
      stack: true,
      queries: [q(sumRate('scope', 'nylas_api_rate_limited_total', ROUTE), '{{scope}}')],
    }),
    timeseries({
      title: 'Grant authentication failures (401)',
      description:
        'A grant that needs re-authentication, seen in traffic. See the grants dashboard.',
      unit: 'reqps',
      links: [dashLink('Grants and accounts', 'nylas-grants')],
      queries: [q(sumRate('route', 'nylas_grant_auth_failures_total', ROUTE), '{{route}}')],
    }),
    timeseries({
      title: 'API key rejected (401)',
      description:
        'Calls answered 401 in a pattern that blames the API key, not a grant (routes naming no grant, many grants failing with no success, or the pollers’ own calls), by source. Anything above 0 here is NylasApiKeyInvalid: the key is wrong, revoked or was rotated. Not filtered by route.',
      unit: 'reqps',
      stack: true,
      queries: [q(sumRate('source', 'nylas_api_key_auth_failures_total'), '{{source}}')],
    }),
    timeseries({
      title: 'Retries by reason',
      description: 'Retries of idempotent requests by the sidecar (SIDECAR_RETRY_MAX > 0).',
      unit: 'reqps',
      stack: true,
      queries: [q(sumRate('reason', 'nylas_api_retries_total', ROUTE), '{{reason}}')],
    }),

    row('Provider usage'),
    timeseries({
      title: 'Provider requests by route',
      description:
        'Requests Nylas made to the mail provider on the app’s behalf (Nylas-Provider-Request-Count).',
      unit: 'reqps',
      stack: true,
      w: 8,
      queries: [q(sumRate('route', 'nylas_api_provider_requests_total', ROUTE), '{{route}}')],
    }),
    timeseries({
      title: 'Gmail quota units by route',
      description: 'Gmail API quota units used per second (Nylas-Gmail-Quota-Usage).',
      unit: 'short',
      stack: true,
      w: 8,
      queries: [q(sumRate('route', 'nylas_api_gmail_quota_units_total', ROUTE), '{{route}}')],
    }),
    timeseries({
      title: 'Response bytes by route',
      unit: 'Bps',
      stack: true,
      w: 8,
      queries: [q(sumRate('route', 'nylas_api_response_bytes_total', ROUTE), '{{route}}')],
    }),
    timeseries({
      title: 'In-flight requests over time',
      unit: 'short',
      w: 24,
      h: 6,
      queries: [
        q(`sum by (instance) (nylas_api_inflight_requests${sel(JOB, INSTANCE)})`, '{{instance}}'),
      ],
    }),

    row('Replicas'),
    table({
      title: 'Per replica (last 5 minutes)',
      description:
        'One row per sidecar instance: its traffic, its error ratio (5xx and transport failures), its P90 and in-flight requests, and for an instance that polls, the age of its oldest poller. One replica far worse than the others is a pod problem (NylasSidecarInstanceErrors), not Nylas.',
      merge: true,
      w: 24,
      h: 8,
      hide: ['Time'],
      rename: {
        instance: 'Instance',
        'Value #A': 'Requests/s',
        'Value #B': 'Error ratio',
        'Value #C': 'P90',
        'Value #D': 'In flight',
        'Value #E': 'Oldest poll',
      },
      overrides: [
        {
          matcher: { id: 'byName', options: 'Error ratio' },
          properties: [
            { id: 'unit', value: 'percentunit' },
            { id: 'decimals', value: 2 },
          ],
        },
        { matcher: { id: 'byName', options: 'P90' }, properties: [{ id: 'unit', value: 's' }] },
        {
          matcher: { id: 'byName', options: 'Oldest poll' },
          properties: [{ id: 'unit', value: 's' }],
        },
      ],
      queries: [
        q(byInstance(REQ), ''),
        q(
          `(${byInstance(REQ, ERR, SLI)} or 0 * ${byInstance(REQ, SLI)}) / ${byInstance(REQ, SLI)}`,
          '',
        ),
        q(
          `histogram_quantile(0.9, sum by (instance, le) (rate(${DUR}_bucket${sel(JOB)}[5m])))`,
          '',
        ),
        q(`sum by (instance) (nylas_api_inflight_requests${sel(JOB)})`, ''),
        q(
          `time() - min by (instance) (nylas_poller_last_success_timestamp_seconds${sel(JOB)})`,
          '',
        ),
      ],
    }),
  ],
});
