// What each setting means, for the generated reference (docs/reference.md). Typed against the
// schema, so a setting added there without a line here fails the typecheck. The default is read
// from the schema; `default` here is only for settings whose default depends on other settings.
import type { envSchema } from './schema.js';

export interface SettingDoc {
  /** One or two sentences: what it sets, what it allows, what it implies. */
  meaning: string;
  /** The default in words, when the schema's own (a fixed value, or unset) would mislead. */
  default?: string;
}

export const SETTING_DOCS: { readonly [K in keyof typeof envSchema.shape]: SettingDoc } = {
  NYLAS_API_URI: {
    meaning:
      'Upstream base URL: every proxied request goes to it with the same path and query (EU: `https://api.eu.nylas.com`; v2: `https://api.nylas.com`).',
  },
  NYLAS_API_KEY: {
    meaning:
      "v3 API key the pollers and `/support` lookups use; required with `SIDECAR_ROLE=pollers`. A `proxy` instance needs none (the app's SDK sends its own).",
  },
  NYLAS_CLIENT_ID: {
    meaning: 'v2 application client id: with the secret, enables the v2 accounts poller.',
  },
  NYLAS_CLIENT_SECRET: { meaning: 'v2 application client secret.' },
  NYLAS_WEBHOOK_SECRET: {
    meaning:
      'Secrets that verify `X-Nylas-Signature`, comma-separated (one per destination, or two during a rotation).',
  },
  NYLAS_STATUS_PAGE_URL: {
    meaning:
      'Atlassian-Statuspage-compatible base URL of the Nylas status page; redirects are followed within its domain only.',
  },
  SIDECAR_LISTEN: {
    meaning:
      'Proxy listener, `host:port` (`:4000` is every interface; a port alone is rejected). A non-loopback address is warned about at start: the proxy carries credentials.',
  },
  SIDECAR_ADMIN_LISTEN: {
    meaning:
      'Admin listener: `/metrics`, `/healthz`, `/readyz`, `/status`, `/`, `/support/{grant_id}`.',
  },
  SIDECAR_WEBHOOK_LISTEN: { meaning: 'Webhook listener, `host:port`; unset leaves it off.' },
  SIDECAR_ADMIN_WEB_CONFIG: {
    meaning:
      "A web configuration file in the Prometheus exporter toolkit's format (`tls_server_config`, `basic_auth_users` with bcrypt hashes): TLS and basic auth on the admin listener, `/healthz` and `/readyz` left open. Read at start, when the file or a file it names changes, and on `SIGHUP`.",
    default: 'unset (plain HTTP, no credentials)',
  },
  SIDECAR_WEBHOOK_WEB_CONFIG: {
    meaning:
      "The same file format for the webhook listener, TLS only (`tls_server_config`'s `cert_file`, `key_file`, `min_version`, `max_version`): for a listener that faces the internet itself. Nylas sends neither basic auth nor a client certificate.",
    default: 'unset (plain HTTP)',
  },
  SIDECAR_WEBHOOK_FORWARD_URL: {
    meaning:
      "The app's webhook endpoint deliveries are forwarded to; required with `SIDECAR_WEBHOOK_LISTEN`.",
  },
  SIDECAR_WEBHOOK_VERIFY: {
    meaning:
      '`enforce` answers 401 to a bad signature without forwarding, `observe` counts it and forwards anyway, `off` does not check.',
    default: '`enforce` with a secret, else `off`',
  },
  SIDECAR_INJECT_API_KEY: {
    meaning: 'Adds `Authorization: Bearer $NYLAS_API_KEY` to proxied requests that carry none.',
  },
  SIDECAR_UPSTREAM_TIMEOUT_MS: {
    meaning:
      'Upstream idle timers, not a per-request deadline: the longest wait for response headers, for each next piece of a body and for a free upstream connection (then 504). Also the stall window of request bodies, capped at 10 s.',
  },
  SIDECAR_HEADERS_TIMEOUT_MS: {
    meaning:
      "The longest a client may take to send a request's headers to the proxy (checked every second); then 408 and the connection is closed. The admin listener uses the same, at most 10 s.",
  },
  SIDECAR_RETRY_MAX: {
    meaning:
      'Retries of GET and HEAD on 429, 502, 503, 504 and connection errors (`Retry-After` honoured, capped at 10 s).',
  },
  SIDECAR_POLL_GRANTS: {
    meaning:
      'node-cron schedule of the invalid-grants run (6 fields with seconds allowed; `off` disables it).',
  },
  SIDECAR_POLL_GRANTS_CENSUS: {
    meaning: 'Schedule of the census of grants by status and provider; its last result is kept.',
  },
  SIDECAR_POLL_WEBHOOKS: {
    meaning: 'Schedule of the webhook destinations poller (Pub/Sub and SNS channels too).',
  },
  SIDECAR_POLL_STATUS_PAGE: { meaning: 'Schedule of the Nylas status page poller.' },
  SIDECAR_POLL_ACCOUNTS: { meaning: 'Schedule of the v2 accounts poller (with v2 credentials).' },
  SIDECAR_RESTART_STOPPED_ACCOUNTS: {
    meaning:
      "v2: restarts a `stopped` or `sync-error` account's sync (downgrade, then upgrade), at most once per account per hour.",
  },
  SIDECAR_MAX_GRANT_SERIES: {
    meaning: 'Cap on per-grant and per-account series; past it they are dropped and counted.',
  },
  SIDECAR_LATENCY_BY_ROUTE: {
    meaning:
      '`true` labels the latency histogram by `route` as well as status class: per-route latency at the cost of about 15 series per route used; worth it on a few replicas, not on hundreds.',
  },
  SIDECAR_LATENCY_BUCKETS: {
    meaning: "Latency histogram buckets in seconds, increasing; 0.5 is Nylas's published P90.",
  },
  SIDECAR_SHUTDOWN_GRACE_MS: {
    meaning: 'How long in-flight requests may take to finish after SIGTERM or SIGINT.',
  },
  SIDECAR_LOG_LEVEL: {
    meaning: 'Logs on stdout: one JSON object a line, or readable lines when stdout is a terminal.',
  },
  SIDECAR_ROLE: {
    meaning:
      '`proxy` (the proxy and, if configured, the webhook listener; no poller series), `pollers` (the pollers and their admin pages; no proxy) or `all` (one process).',
    default: '`all`',
  },
  SIDECAR_DEMO: {
    meaning:
      '`true` forces demo mode (the built-in simulator as upstream, generated traffic), `false` never; `auto` runs it unless Nylas credentials or an upstream are set. `--check-config` says which mode and why.',
    default: 'unset: demo mode only when nothing is configured',
  },
  SIDECAR_DEMO_SCENARIO: { meaning: 'The scenario demo mode starts in.' },
  SIDECAR_CONFIG: {
    meaning: 'A YAML file holding the same keys as the environment (the environment wins).',
  },
};
