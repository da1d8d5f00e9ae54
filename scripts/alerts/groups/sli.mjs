// The API SLIs over the burn-rate windows, the freshest-poller choice and the objective as series.
import { SLI_REQUESTS, WINDOWS } from '../lib.mjs';

/** The rules of this group, built with the shared helpers of `ruleContext` (lib.mjs). */
export function sliRules({ o, job, sel, w, lat, budget, objective }) {
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
  return recording;
}
