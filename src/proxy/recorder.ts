import type { Logger } from '../log/index.js';
import type { CounterCell, ExemplarIds, HistogramCell, Metrics } from '../metrics/index.js';
import type { KeyHealth, UpstreamErrorRecord } from '../credentials/index.js';
import type { RecentErrors } from './recent-errors.js';
import { decodedSegment } from './routes.js';

/** Everything known about one proxied request once it is over. */
export interface Outcome {
  method: string;
  route: string;
  grantScoped: boolean;
  /** The path's raw {grant_id} segment; read only for a failed call (see safeGrantId). */
  grantSegment: string | undefined;
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
  /** The request's span, or the trace id of the app's traceparent: the latency exemplar. */
  ids: ExemplarIds | undefined;
  /** The request headers sent upstream, as a flat name/value list (read only after a 401). */
  headers: readonly string[];
}

/** The Authorization value in a flat header list (to fingerprint the credential, never kept). */
function authorizationOf(headers: readonly string[]): string | undefined {
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i]!.toLowerCase() === 'authorization') return headers[i + 1];
  return undefined;
}

const STATUS_CLASS = ['error', '1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * Records a finished request in metrics, the recent-errors ring and the log. Metric cells are
 * looked up once per label set and kept (see metrics/fast.ts): on the hot path recording is a
 * map lookup and a few additions.
 */
export function createRecorder(deps: {
  metrics: Metrics;
  logger: Logger;
  recentErrors: RecentErrors;
  keyHealth?: KeyHealth;
}) {
  const { metrics, logger, recentErrors, keyHealth } = deps;
  // Cells by route, then method, then code (and error type): the route and method strings come
  // from closed tables, so each lookup hashes an interned string; no key is built per request.
  interface MethodCells {
    /** By status code, for calls without an error type. */
    ok: Map<number, CounterCell>;
    /** By `${code} ${errorType}`. */
    failed: Map<string, CounterCell>;
  }
  interface RouteCells {
    bytes: CounterCell;
    /** Made on the first response carrying the header: most routes never do. */
    provider: CounterCell | undefined;
    gmail: CounterCell | undefined;
    /**
     * Latency by status class index (0 = no response): the route's own cells with
     * SIDECAR_LATENCY_BY_ROUTE, else cells shared by every route.
     */
    duration: (HistogramCell | undefined)[];
    byMethod: Map<string, MethodCells>;
  }
  const latencyByRoute = metrics.apiRequestDuration.labelNames.includes('route');
  const byRoute = new Map<string, RouteCells>();

  return function record(o: Outcome): void {
    let r = byRoute.get(o.route);
    if (!r) {
      r = {
        bytes: metrics.apiResponseBytes.cell(o.route),
        provider: undefined,
        gmail: undefined,
        duration: [],
        byMethod: new Map(),
      };
      byRoute.set(o.route, r);
    }
    let m = r.byMethod.get(o.method);
    if (!m) {
      m = { ok: new Map(), failed: new Map() };
      r.byMethod.set(o.method, m);
    }
    let counter: CounterCell | undefined;
    if (o.errorType === '') {
      counter = m.ok.get(o.code);
      if (!counter) {
        counter = metrics.apiRequests.cell(o.method, o.route, String(o.code), '');
        m.ok.set(o.code, counter);
      }
    } else {
      const key = `${o.code} ${o.errorType}`;
      counter = m.failed.get(key);
      if (!counter) {
        counter = metrics.apiRequests.cell(o.method, o.route, String(o.code), o.errorType);
        m.failed.set(key, counter);
      }
    }
    counter.value++;

    const classIndex = o.responded ? Math.floor(o.code / 100) : 0;
    let hist = r.duration[classIndex];
    if (!hist) {
      const statusClass = STATUS_CLASS[classIndex] ?? 'error';
      hist = latencyByRoute
        ? metrics.apiRequestDuration.cell(o.route, statusClass)
        : metrics.apiRequestDuration.cell(statusClass);
      r.duration[classIndex] = hist;
    }
    metrics.apiRequestDuration.observe(hist, o.durationSeconds, o.ids);

    if (o.responseBytes > 0) r.bytes.value += o.responseBytes;
    if (o.providerRequests > 0)
      (r.provider ??= metrics.apiProviderRequests.cell(o.route)).value += o.providerRequests;
    if (o.gmailQuotaUnits > 0)
      (r.gmail ??= metrics.apiGmailQuotaUnits.cell(o.route)).value += o.gmailQuotaUnits;

    // Only while a 401 is unexplained does a success need telling apart by credential.
    if (
      keyHealth?.watching === true &&
      o.responded &&
      o.code !== 401 &&
      o.code !== 429 &&
      o.code < 500
    )
      keyHealth.proxyAuthenticated(authorizationOf(o.headers));

    if (o.errorType === '') return;
    // From here on: a failed call (rare on a healthy system, so no caching).
    const grantId = o.grantSegment && safeGrantId(o.grantSegment);
    if (o.code === 429)
      metrics.apiRateLimited.inc({ route: o.route, scope: o.providerError ? 'provider' : 'nylas' });
    let rec: UpstreamErrorRecord | undefined;
    if (o.errorType !== 'refused') {
      rec = {
        time: Date.now(),
        method: o.method,
        route: o.route,
        code: o.code,
        errorType: o.errorType,
        requestId: o.requestId,
        grantId,
        providerError: o.providerError,
      };
      recentErrors.push(rec);
    }
    if (o.code === 401 && o.responded) {
      // A 401 is the grant's or the key's: key-health decides, then counts it in one family.
      if (keyHealth)
        keyHealth.proxyUnauthorized({
          credential: authorizationOf(o.headers),
          route: o.route,
          grantId,
          grantScoped: o.grantScoped,
          record: rec,
        });
      else if (o.grantScoped) metrics.grantAuthFailures.inc({ route: o.route });
    }
    if (!rec) return;
    const line = {
      event: 'upstream_error',
      method: o.method,
      route: o.route,
      code: o.code,
      error_type: o.errorType,
      nylas_request_id: o.requestId,
      duration_ms: Math.round(o.durationSeconds * 1000),
      trace_id: o.ids?.traceId,
    };
    if (o.errorType === 'client_aborted')
      logger.info(line, 'The app closed the connection before the response ended');
    else if (o.code >= 500 || !o.responded) logger.warn(line, 'Nylas API call failed');
    else logger.info(line, 'Nylas API call returned an error');
  };
}

export type Recorder = ReturnType<typeof createRecorder>;

/**
 * The grant identifier for /support pages and recent errors, or undefined when it is an email
 * address (never kept) or `me`.
 */
export function safeGrantId(segment: string): string | undefined {
  const id = decodedSegment(segment);
  if (id === undefined || id === 'me' || id.includes('@') || id.startsWith('email:'))
    return undefined;
  return id.length <= 128 ? id : undefined;
}
