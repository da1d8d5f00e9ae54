import type { Counter } from 'prom-client';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/index.js';
import type { RecentErrors } from './recent-errors.js';

/** Everything known about one proxied request once it is over. */
export interface Outcome {
  method: string;
  route: string;
  grantScoped: boolean;
  grantId: string | undefined;
  /** Status the app saw; 499 when the app went away before one was sent. */
  code: number;
  /** False when no response status reached the app (transport failure, abort). */
  responded: boolean;
  /** '' on success; Nylas error type, 'other', 'unparsed', or a transport class. */
  errorType: string;
  providerError: boolean;
  requestId: string | undefined;
  responseBytes: number;
  providerRequests: number;
  gmailQuotaUnits: number;
  durationSeconds: number;
  traceId: string | undefined;
  spanId: string | undefined;
}

/** prom-client's histogram observe() with exemplars takes one object. */
interface ExemplarObserve {
  observe(args: {
    labels: Record<string, string>;
    value: number;
    exemplarLabels?: Record<string, string>;
  }): void;
}

const STATUS_CLASS = ['error', '1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * Records a finished request in metrics, the recent-errors ring and the log. Label children are
 * looked up once per label set and cached: prom-client hashes the label object on every call
 * otherwise, which showed up in profiles of the proxy at saturation.
 */
export function createRecorder(deps: {
  metrics: Metrics;
  logger: Logger;
  recentErrors: RecentErrors;
}) {
  const { metrics, logger, recentErrors } = deps;
  const requestCounters = new Map<string, ReturnType<Counter<string>['labels']>>();
  const durationLabels = new Map<string, Record<string, string>>();
  const byRoute = new Map<
    string,
    {
      bytes: ReturnType<Counter<string>['labels']>;
      provider: ReturnType<Counter<string>['labels']>;
      gmail: ReturnType<Counter<string>['labels']>;
    }
  >();
  const histogram = metrics.apiRequestDuration as unknown as ExemplarObserve;

  return function record(o: Outcome): void {
    const code = String(o.code);
    const key = `${o.method} ${o.route} ${code} ${o.errorType}`;
    let counter = requestCounters.get(key);
    if (!counter) {
      counter = metrics.apiRequests.labels(o.method, o.route, code, o.errorType);
      requestCounters.set(key, counter);
    }
    counter.inc();

    const statusClass = o.responded ? (STATUS_CLASS[Math.floor(o.code / 100)] ?? 'error') : 'error';
    const dKey = `${o.method} ${o.route} ${statusClass}`;
    let labels = durationLabels.get(dKey);
    if (!labels) {
      labels = { method: o.method, route: o.route, status_class: statusClass };
      durationLabels.set(dKey, labels);
    }
    histogram.observe({
      labels,
      value: o.durationSeconds,
      exemplarLabels: o.traceId ? { trace_id: o.traceId, span_id: o.spanId ?? '' } : undefined,
    });

    let r = byRoute.get(o.route);
    if (!r) {
      r = {
        bytes: metrics.apiResponseBytes.labels(o.route),
        provider: metrics.apiProviderRequests.labels(o.route),
        gmail: metrics.apiGmailQuotaUnits.labels(o.route),
      };
      byRoute.set(o.route, r);
    }
    if (o.responseBytes > 0) r.bytes.inc(o.responseBytes);
    if (o.providerRequests > 0) r.provider.inc(o.providerRequests);
    if (o.gmailQuotaUnits > 0) r.gmail.inc(o.gmailQuotaUnits);

    if (o.errorType === '') return;
    // From here on: a failed call (rare on a healthy system, so no caching).
    if (o.code === 429)
      metrics.apiRateLimited.inc({ route: o.route, scope: o.providerError ? 'provider' : 'nylas' });
    if (o.code === 401 && o.grantScoped) metrics.grantAuthFailures.inc({ route: o.route });
    if (o.errorType === 'refused') return;
    recentErrors.push({
      time: Date.now(),
      method: o.method,
      route: o.route,
      code: o.code,
      errorType: o.errorType,
      requestId: o.requestId,
      grantId: o.grantId,
    });
    const line = {
      event: 'upstream_error',
      method: o.method,
      route: o.route,
      code: o.code,
      error_type: o.errorType,
      nylas_request_id: o.requestId,
      duration_ms: Math.round(o.durationSeconds * 1000),
      trace_id: o.traceId,
    };
    if (o.errorType === 'client_aborted')
      logger.info(line, 'The app closed the connection before the response ended');
    else if (o.code >= 500 || !o.responded) logger.warn(line, 'Nylas API call failed');
    else logger.info(line, 'Nylas API call returned an error');
  };
}

export type Recorder = ReturnType<typeof createRecorder>;
