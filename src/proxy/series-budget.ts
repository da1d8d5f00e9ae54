import { METHOD_BITS } from './route-methods.js';
import { OTHER_MATCH, type RouteMatch } from './routes.js';

/**
 * The route label of a request: its template when the template has the request's method, else
 * route="other" (a method Nylas does not serve there is not a Nylas API call: it answers 404 or
 * 405). Nothing else decides it, not the order requests arrive in nor how many pairs came before:
 * every (method, route) pair of the route table always keeps its name, so the route-labelled
 * series are bounded by the table itself (see proxySeriesBound). On the hot path this is a map
 * lookup and a bit test.
 */
export function labelRoute(m: RouteMatch, method: string): RouteMatch {
  if (m.slot < 0) return m;
  const bit = METHOD_BITS.get(method) ?? 0;
  return (m.methods & bit) === 0 ? OTHER_MATCH : m;
}

/** What the bound on a proxy replica's series is computed from. */
export interface SeriesBoundInputs {
  /** (method, route) pairs of the route table: what the route-labelled counters can name. */
  pairs: number;
  /** Templates of the route table. */
  routes: number;
  /** Latency buckets (SIDECAR_LATENCY_BUCKETS). */
  buckets: number;
  /** Distinct (code, error_type) outcomes a pair met (1 for an app whose calls all succeed). */
  outcomes: number;
  /** The histogram carries `route` too (SIDECAR_LATENCY_BY_ROUTE). */
  latencyByRoute?: boolean;
}

/** Methods a request may carry that no template has (labelled with route="other"). */
const OTHER_METHODS = METHOD_BITS.size + 1; // the 7 named ones and _OTHER
/** Status classes of the latency histogram: 1xx..5xx and error (no response). */
const STATUS_CLASSES = 6;

/**
 * The most series the proxy's route-labelled families can export in one replica, the formula the
 * README gives:
 * - nylas_api_requests_total: (pairs + 8) × outcomes (route="other" takes any of 8 methods);
 * - nylas_api_request_duration_seconds: 6 status classes × (buckets + 3) (+Inf, _sum, _count),
 *   times (routes + 1) with SIDECAR_LATENCY_BY_ROUTE;
 * - nylas_api_response_bytes_total, _provider_requests_total, _gmail_quota_units_total,
 *   nylas_grant_auth_failures_total and nylas_api_rate_limited_total (2 scopes): 6 × (routes + 1).
 * nylas_api_retries_total (only with SIDECAR_RETRY_MAX) adds a series per route and retry reason.
 */
export function proxySeriesBound(i: SeriesBoundInputs): number {
  const routes = i.routes + 1;
  const requests = (i.pairs + OTHER_METHODS) * i.outcomes;
  const latency = STATUS_CLASSES * (i.buckets + 3) * (i.latencyByRoute ? routes : 1);
  return requests + latency + 6 * routes;
}
