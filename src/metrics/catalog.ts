import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type RegistryContentType,
} from 'prom-client';
import { FastCounter, FastHistogram } from './fast.js';

/** Options that shape the catalog. */
export interface MetricsOptions {
  latencyBuckets: readonly number[];
  version: string;
  /** Collect prom-client's process and Node.js metrics (off in some unit tests). */
  defaultMetrics?: boolean;
  /**
   * What this instance runs (default `all`). A family this role never updates is not exported:
   * a proxy-only replica exporting `nylas_status_page_indicator 0` would read as "no incident".
   */
  role?: 'proxy' | 'pollers' | 'all';
  /**
   * The latency histogram is by route as well as status class (SIDECAR_LATENCY_BY_ROUTE): a
   * series per bucket and route, which is most of a replica's series when on.
   */
  latencyByRoute?: boolean;
}

/** Families only the proxy and the webhook listener update (roles `proxy` and `all`). */
const TRAFFIC_FAMILIES = [
  'nylas_api_requests_total',
  'nylas_api_request_duration_seconds',
  'nylas_api_inflight_requests',
  'nylas_api_rate_limited_total',
  'nylas_api_response_bytes_total',
  'nylas_api_provider_requests_total',
  'nylas_api_gmail_quota_units_total',
  'nylas_api_retries_total',
  'nylas_grant_auth_failures_total',
  'nylas_webhook_notifications_total',
  'nylas_webhook_challenges_total',
  'nylas_webhook_delivery_lag_seconds',
  'nylas_webhook_delivery_attempts_total',
  'nylas_webhook_forward_duration_seconds',
  'nylas_webhook_last_notification_timestamp_seconds',
];

/**
 * Families only the pollers update (roles `pollers` and `all`). Not here, because every role
 * updates it: nylas_grant_invalid (source="poll" from the pollers, source="notification" from
 * the webhook listener).
 */
const POLLER_FAMILIES = [
  'nylas_grants',
  'nylas_grants_census_timestamp_seconds',
  'nylas_accounts',
  'nylas_account_unhealthy',
  'nylas_account_sync_restarts_total',
  'nylas_webhook_status',
  'nylas_webhook_info',
  'nylas_webhook_status_since_timestamp_seconds',
  'nylas_channel_status',
  'nylas_channel_info',
  'nylas_channel_status_since_timestamp_seconds',
  'nylas_status_page_indicator',
  'nylas_status_page_component_status',
  'nylas_status_page_incidents',
  'nylas_status_page_incident_info',
  'nylas_status_page_other_region_incidents',
  'nylas_status_page_maintenance_active',
  'nylas_poller_last_success_timestamp_seconds',
  'nylas_poller_runs_total',
  'nylas_poller_duration_seconds',
  'nylas_poller_requests_total',
];

/** Buckets for webhook delivery lag: seconds to the 10-20 min of Nylas's last retry, and beyond. */
const WEBHOOK_LAG_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 3600, 21600];
/** Buckets for the app's webhook endpoint: 10 s is Nylas's per-attempt timeout, so it is a bound. */
const WEBHOOK_FORWARD_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 9, 10, 15, 30];
const POLLER_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Every metric family nylas-sidecar exports, declared once. The names are a contract (users'
 * queries and alerts depend on them): dashboards and alert rules in this repository are checked
 * against this catalog.
 *
 * The registry is an OpenMetrics one because prom-client only records exemplars there; the
 * admin listener renders it as Prometheus text for scrapers that do not ask for OpenMetrics.
 */
export function createMetrics(opts: MetricsOptions) {
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const registers = [registry];
  const buckets = [...opts.latencyBuckets];
  // The proxy counts in-flight requests in a plain number (cheaper than a gauge update per
  // request); the gauge reads it at scrape time.
  const inflight = { value: 0 };

  // Most families are a name, a help text and label names, registered in this registry: one
  // call each, so a family reads as what it is.
  const counter = <L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
  ) => new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string = never>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
  ) => new Gauge<L>({ name, help, labelNames, registers });

  const m = {
    registry,

    // Proxy
    // Updated on every proxied request: cell-based (see fast.ts).
    apiRequests: new FastCounter(
      'nylas_api_requests_total',
      'Requests proxied to the Nylas API, by route template, method, status code the app saw and error type.',
      ['method', 'route', 'code', 'error_type'],
      registry,
    ),
    apiRequestDuration: new FastHistogram(
      'nylas_api_request_duration_seconds',
      opts.latencyByRoute
        ? 'Time from the request reaching the sidecar to the end of the response, by route template and status class.'
        : 'Time from the request reaching the sidecar to the end of the response, by status class (by route too with SIDECAR_LATENCY_BY_ROUTE).',
      // By status class alone unless asked: by route it costs (buckets + 3) series per route and
      // class, every replica, while the SLO rules read only sum by (job, le) (Kong's histogram is
      // by route alone, Envoy's per-route histograms are opt-in).
      opts.latencyByRoute ? ['route', 'status_class'] : ['status_class'],
      buckets,
      registry,
    ),
    inflight,
    apiInflight: new Gauge({
      name: 'nylas_api_inflight_requests',
      help: 'Proxied requests in flight.',
      registers,
      collect() {
        this.set(inflight.value);
      },
    }),
    apiRateLimited: counter(
      'nylas_api_rate_limited_total',
      '429 responses, by scope: nylas (application or grant limit) or provider (the 429 carries a provider_error).',
      ['route', 'scope'],
    ),
    apiResponseBytes: new FastCounter(
      'nylas_api_response_bytes_total',
      'Response body bytes passed from the Nylas API to the app.',
      ['route'],
      registry,
    ),
    apiProviderRequests: new FastCounter(
      'nylas_api_provider_requests_total',
      'Provider requests Nylas made on the app’s behalf, from the Nylas-Provider-Request-Count header.',
      ['route'],
      registry,
    ),
    apiGmailQuotaUnits: new FastCounter(
      'nylas_api_gmail_quota_units_total',
      'Gmail quota units used, from the Nylas-Gmail-Quota-Usage header.',
      ['route'],
      registry,
    ),
    apiRetries: counter(
      'nylas_api_retries_total',
      'Retries of idempotent requests made by the sidecar, by reason.',
      ['route', 'reason'],
    ),
    grantAuthFailures: counter(
      'nylas_grant_auth_failures_total',
      '401 responses on grant-scoped routes while the same API key works for other calls: a grant that needs re-authentication, seen in traffic.',
      ['route'],
    ),

    apiKeyAuthFailures: counter(
      'nylas_api_key_auth_failures_total',
      '401 responses blamed on the API key, not a grant (on routes naming no grant, across many grants with no success, or on the pollers’ own calls), by source: proxy or pollers.',
      ['source'],
    ),

    // Grants and accounts (pollers)
    grants: gauge(
      'nylas_grants',
      'Grants by grant_status and provider, from the last successful grants poll.',
      ['status', 'provider'],
    ),
    grantInvalid: gauge(
      'nylas_grant_invalid',
      'One series per grant whose health is known, by how it was learnt (source: poll, notification): 1 invalid, 0 valid again (notifications only). Capped by SIDECAR_MAX_GRANT_SERIES.',
      ['grant_id', 'provider', 'source'],
    ),
    grantsCensusTimestamp: gauge(
      'nylas_grants_census_timestamp_seconds',
      'Unix time the last grants census (every grant, by status and provider) finished; nylas_grants valid counts are this old.',
    ),

    accounts: gauge(
      'nylas_accounts',
      'v2 accounts by sync_state and provider, from the last successful accounts poll.',
      ['sync_state', 'provider'],
    ),
    accountUnhealthy: gauge(
      'nylas_account_unhealthy',
      'One series (value 1) per v2 account whose sync_state is not running, capped by SIDECAR_MAX_GRANT_SERIES.',
      ['account_id', 'sync_state'],
    ),
    accountSyncRestarts: counter(
      'nylas_account_sync_restarts_total',
      'v2 account sync restarts (downgrade then upgrade) made by the sidecar, by result.',
      ['result'],
    ),

    // Webhook destinations (poller)
    webhookStatus: gauge(
      'nylas_webhook_status',
      'Webhook destination status as a StateSet: 1 for the current status, 0 for the others.',
      ['webhook_id', 'status'],
    ),
    webhookInfo: gauge(
      'nylas_webhook_info',
      'Webhook destination description and URL host (value 1).',
      ['webhook_id', 'description', 'url_host'],
    ),
    webhookStatusSince: gauge(
      'nylas_webhook_status_since_timestamp_seconds',
      "Unix time the webhook destination entered its current status: Nylas's status_updated_at, or when this sidecar first saw the status when Nylas does not say (v2).",
      ['webhook_id'],
    ),

    // Notification channels (webhooks poller)
    channelStatus: gauge(
      'nylas_channel_status',
      'Pub/Sub or SNS notification channel status as a StateSet: 1 for the current status, 0 for the others.',
      ['channel_id', 'type', 'status'],
    ),
    channelInfo: gauge(
      'nylas_channel_info',
      'Notification channel type (pubsub, sns) and description (value 1); never the topic.',
      ['channel_id', 'type', 'description'],
    ),
    channelStatusSince: gauge(
      'nylas_channel_status_since_timestamp_seconds',
      "Unix time the notification channel entered its current status: Nylas's status_updated_at when sent, else when this sidecar first saw the status.",
      ['channel_id', 'type'],
    ),

    // Webhook deliveries (listener)
    webhookNotifications: counter(
      'nylas_webhook_notifications_total',
      'Webhook notifications received, by trigger and outcome.',
      ['trigger', 'outcome'],
    ),
    webhookChallenges: counter(
      'nylas_webhook_challenges_total',
      'Webhook challenge handshakes, by who answered them.',
      ['outcome'],
    ),
    webhookDeliveryLag: new Histogram({
      name: 'nylas_webhook_delivery_lag_seconds',
      // Not by trigger: 14 series per trigger, for a delay that is Nylas's delivery pipeline's
      // (and its retries'), not the trigger's. Per-trigger counts and recency are in
      // nylas_webhook_notifications_total and nylas_webhook_last_notification_timestamp_seconds.
      help: 'Receipt time minus the CloudEvent time of webhook notifications.',
      buckets: WEBHOOK_LAG_BUCKETS,
      registers,
    }),
    webhookDeliveryAttempts: counter(
      'nylas_webhook_delivery_attempts_total',
      'Webhook notifications by delivery attempt; attempt > 1 means Nylas already failed to deliver it.',
      ['trigger', 'attempt'],
    ),
    webhookForwardDuration: new Histogram({
      name: 'nylas_webhook_forward_duration_seconds',
      help: "Time the app's webhook endpoint took to answer, against Nylas's 10 s timeout.",
      labelNames: ['status_class'] as const,
      buckets: WEBHOOK_FORWARD_BUCKETS,
      registers,
    }),
    webhookLastNotification: gauge(
      'nylas_webhook_last_notification_timestamp_seconds',
      'Unix time of the last webhook notification received, by trigger.',
      ['trigger'],
    ),

    // Status page (poller)
    statusPageIndicator: gauge(
      'nylas_status_page_indicator',
      'Nylas status page indicator: none=0, minor=1, major=2, critical=3, maintenance=-2 (a maintenance in progress, nothing worse), -1 for an undocumented value.',
    ),
    statusPageComponentStatus: gauge(
      'nylas_status_page_component_status',
      "Nylas status page component status as a StateSet; group is the name of the component's group ('' at the top level).",
      ['component', 'group', 'status'],
    ),
    statusPageIncidents: gauge(
      'nylas_status_page_incidents',
      "Unresolved incidents on the Nylas status page that concern NYLAS_API_URI's region (its own and those naming no region), by impact.",
      ['impact'],
    ),
    statusPageIncidentInfo: gauge(
      'nylas_status_page_incident_info',
      'One series (value 1) per unresolved incident on the Nylas status page; region is the one its title names (us, eu) or all.',
      ['incident_id', 'impact', 'status', 'region'],
    ),
    statusPageOtherRegionIncidents: gauge(
      'nylas_status_page_other_region_incidents',
      "Unresolved incidents whose title names the other region than NYLAS_API_URI's, by impact: not counted in nylas_status_page_incidents.",
      ['impact'],
    ),
    statusPageMaintenanceActive: gauge(
      'nylas_status_page_maintenance_active',
      'Scheduled maintenances in progress on the Nylas status page.',
    ),

    // Pollers
    pollerLastSuccess: gauge(
      'nylas_poller_last_success_timestamp_seconds',
      'Unix time of the last successful run of each poller.',
      ['poller'],
    ),
    pollerRuns: counter('nylas_poller_runs_total', 'Poller runs, by result.', ['poller', 'result']),
    pollerDuration: new Histogram({
      name: 'nylas_poller_duration_seconds',
      help: 'Duration of poller runs.',
      labelNames: ['poller'] as const,
      buckets: POLLER_BUCKETS,
      registers,
    }),
    pollerRequests: counter(
      'nylas_poller_requests_total',
      "Requests the pollers (and /support lookups) made to Nylas and the status page, by API and status code ('error' when no answer came). They share the application's rate limits with the app.",
      ['api', 'code'],
    ),

    // The sidecar itself
    buildInfo: gauge('nylas_sidecar_build_info', 'nylas-sidecar build information (value 1).', [
      'version',
      'node_version',
    ]),
    role: gauge(
      'nylas_sidecar_role',
      'What this instance runs (value 1): proxy, pollers or all (SIDECAR_ROLE).',
      ['role'],
    ),
    adminAuthFailures: counter(
      'nylas_sidecar_admin_auth_failures_total',
      'Admin listener requests refused under SIDECAR_ADMIN_WEB_CONFIG, by reason: missing (no credentials), invalid (wrong username or password, or a malformed header), client_certificate, tls_handshake.',
      ['reason'],
    ),
    seriesDropped: counter(
      'nylas_sidecar_series_dropped_total',
      'Series not created because a cardinality cap was reached, by metric.',
      ['metric'],
    ),
  };

  m.buildInfo.set({ version: opts.version, node_version: process.version }, 1);
  // Counters that have not moved are 0, not absent: a panel or alert on them shows 0, not "No
  // data" (the capped families are a closed list).
  const role = opts.role ?? 'all';
  if (role !== 'proxy')
    for (const metric of [
      'nylas_grant_invalid',
      'nylas_account_unhealthy',
      'nylas_webhook_status',
      'nylas_status_page_component_status',
    ])
      m.seriesDropped.inc({ metric }, 0);
  // Key failures are counted by whichever part of this role calls Nylas.
  if (role !== 'pollers') m.apiKeyAuthFailures.inc({ source: 'proxy' }, 0);
  if (role !== 'proxy') m.apiKeyAuthFailures.inc({ source: 'pollers' }, 0);
  m.role.set({ role }, 1);
  const unused = role === 'proxy' ? POLLER_FAMILIES : role === 'pollers' ? TRAFFIC_FAMILIES : [];
  for (const name of unused) registry.removeSingleMetric(name);
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges with a counter's _total suffix, which `promtool check
    // metrics` rejects; the same counts are in nodejs_active_resources and the event-loop metrics.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ])
      registry.removeSingleMetric(name);
  }
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
