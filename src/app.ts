import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Router } from 'express';
import type { Config } from './config/index.js';
import type { Logger } from './log/index.js';
import { createMetrics, type Metrics } from './metrics/index.js';
import { noTracing, type Tracing } from './tracing/index.js';
import { createAdminApp, createTrafficSampler, loadStatusRouter } from './admin/index.js';
import { createProxy, RecentErrors } from './proxy/index.js';
import { createGrantHealth, createKeyHealth, type KeyHealth } from './credentials/index.js';
import { createPollers, type Pollers } from './pollers/index.js';
import { createWebhookListener, type WebhookListener } from './webhooks/index.js';
import { addressText, closeServer, isLoopback, listen, urlOf } from './util/listen.js';
import { createWebServer, type WebServer } from './util/web-server.js';

export interface SidecarDeps {
  logger: Logger;
  version: string;
  /** Span export, from createTracing (main.ts reads OTEL_*); none means no trace export. */
  tracing?: Tracing;
  /** Collect prom-client's default process metrics (default true). */
  defaultMetrics?: boolean;
  /** More routes for the admin listener (demo mode's scenario switch). */
  adminRouters?: Router[];
  /** Demo mode: the running scenario, shown on the overview. */
  demoScenario?: () => string;
  /** Milliseconds between the overview's traffic samples (default 10 s; screenshots go finer). */
  trafficSampleMs?: number;
  /** How often web config files are checked for changes (default 5 s; tests go faster). */
  webConfigWatchMs?: number;
}

/** The URLs the sidecar listens on once started. */
export interface SidecarAddresses {
  /** Unset for the `pollers` role, which runs no proxy. */
  proxy: string | undefined;
  admin: string;
  webhook: string | undefined;
}

export interface Sidecar {
  readonly metrics: Metrics;
  readonly recentErrors: RecentErrors;
  /** Tells a bad API key from invalid grants (tests settle it with sweep()). */
  readonly keyHealth: KeyHealth;
  /** The pollers (tests run them with runOnce instead of waiting for cron). */
  readonly pollers: Pollers;
  /** Where spans are exported, and how; undefined when they are not. */
  readonly traces: Tracing['exportTo'];
  start(): Promise<SidecarAddresses>;
  /**
   * Reads SIDECAR_ADMIN_WEB_CONFIG and SIDECAR_WEBHOOK_WEB_CONFIG again (SIGHUP); a file with
   * problems keeps the running configuration and logs one line.
   */
  reloadWebConfig(): void;
  /** Ordered, bounded, idempotent shutdown: stop taking work, drain, flush spans, close. */
  stop(): Promise<void>;
}

/** How often held 401s are settled as the grant's or the key's (credentials/key-health.ts). */
const KEY_SWEEP_MS = 5_000;

/** Builds the sidecar from a validated configuration. Nothing listens until start(). */
export function createSidecar(config: Config, deps: SidecarDeps): Sidecar {
  const { logger } = deps;
  const metrics = createMetrics({
    latencyBuckets: config.proxy.latencyBuckets,
    latencyByRoute: config.proxy.latencyByRoute,
    version: deps.version,
    defaultMetrics: deps.defaultMetrics,
    role: config.role,
  });
  const tracing = deps.tracing ?? noTracing(deps.version);
  const recentErrors = new RecentErrors();
  const keyHealth = createKeyHealth({
    onKeyFailure: (source) => metrics.apiKeyAuthFailures.inc({ source }),
    onGrantFailure: (route) => metrics.grantAuthFailures.inc({ route }),
  });
  let ready = false;

  // SIDECAR_ROLE (README, Running many replicas): `pollers` runs no proxy and no webhook
  // listener; `proxy` has its pollers all disabled (createPollers), so the admin pages say who
  // polls.
  const serves = config.role !== 'pollers';
  const proxy = serves
    ? createProxy({ config, metrics, logger, tracing, recentErrors, keyHealth })
    : undefined;
  const traffic = proxy
    ? createTrafficSampler({
        metrics,
        latencyBuckets: config.proxy.latencyBuckets,
        sampleMs: deps.trafficSampleMs,
      })
    : undefined;
  const startedAt = Date.now();
  const grantHealth = createGrantHealth({
    metrics,
    maxSeries: config.pollers.maxGrantSeries,
    now: Date.now,
  });
  const pollers = createPollers({
    config,
    metrics,
    logger,
    tracer: tracing.tracer,
    keyHealth,
    grantHealth,
  });
  const webhooks: WebhookListener | undefined =
    serves && config.webhook.listen
      ? createWebhookListener({
          config,
          metrics,
          logger,
          tracer: tracing.tracer,
          grantHealth,
          webConfigWatchMs: deps.webConfigWatchMs,
        })
      : undefined;
  // Notification series expire even where no poll and no page view comes (a proxy instance).
  let sweepTimer: NodeJS.Timeout | undefined;
  const adminApp = createAdminApp({
    metrics,
    logger,
    state: { ready: () => ready },
    // The status pages (and express) load on the first request for one (admin/server.ts).
    routers: async () => {
      const createStatusRouter = await loadStatusRouter();
      return [
        createStatusRouter({
          pollers,
          recentErrors,
          apiHost: config.nylas.apiUri.host,
          role: config.role,
          keyHealth,
          traffic,
          instance: {
            mode: config.demo || deps.demoScenario ? 'demo' : 'live',
            scenario: deps.demoScenario,
            upstream: config.nylas.apiUri.origin,
            version: deps.version,
            startedAt,
          },
        }),
        ...(deps.adminRouters ?? []),
      ];
    },
  });
  let adminServer: Server | undefined;
  let adminWeb: WebServer | undefined;
  let stopping: Promise<void> | undefined;
  // Held 401s are settled on reads too; this bounds the wait when nobody reads.
  let sweeper: ReturnType<typeof setInterval> | undefined;

  return {
    metrics,
    recentErrors,
    keyHealth,
    pollers,
    traces: tracing.exportTo,
    async start() {
      const { createServer } = await import('node:http');
      // Prometheus and the kubelet send their headers at once: a client that trickles them is
      // cut after SIDECAR_HEADERS_TIMEOUT_MS (at most 10 s), checked every quarter of it, instead
      // of Node's defaults (60 s, checked every 30 s, so up to ~90 s a connection).
      const adminHeadersMs = Math.min(config.proxy.headersTimeoutMs, 10_000);
      const http = {
        headersTimeout: adminHeadersMs,
        requestTimeout: Math.max(30_000, adminHeadersMs),
        connectionsCheckingInterval: Math.max(50, Math.min(1_000, adminHeadersMs / 4)),
      };
      if (config.admin.webConfig) {
        adminWeb = createWebServer({
          setting: 'SIDECAR_ADMIN_WEB_CONFIG',
          path: config.admin.webConfig,
          allow: 'full',
          http,
          handler: adminApp,
          // The kubelet's probes carry no credentials; they say no more than "ok" or "ready".
          open: ['/healthz', '/readyz'],
          logger,
          onAuthFailure: (reason) => metrics.adminAuthFailures.inc({ reason }),
          watchIntervalMs: deps.webConfigWatchMs,
        });
        for (const reason of ['missing', 'invalid', 'client_certificate', 'tls_handshake'])
          metrics.adminAuthFailures.inc({ reason }, 0);
        adminServer = adminWeb.server;
      } else adminServer = createServer(http, adminApp);
      const adminAddr: AddressInfo = await listen(
        adminServer,
        config.admin.listen,
        'SIDECAR_ADMIN_LISTEN',
      );
      const proxyAddr = proxy ? await proxy.start() : undefined;
      if (proxy && !isLoopback(config.proxy.listen.host))
        // Allowed (a pod's other containers reach it on the pod IP) but said once: the proxy
        // forwards whatever credentials it is sent, and adds NYLAS_API_KEY when injection is on.
        logger.warn(
          {
            event: 'proxy_not_loopback',
            variable: 'SIDECAR_LISTEN',
            address: addressText(config.proxy.listen),
          },
          `the proxy listener (SIDECAR_LISTEN=${addressText(config.proxy.listen)}) is reachable from other hosts, not just this one; keep it on a private network${config.proxy.injectApiKey ? ': with SIDECAR_INJECT_API_KEY on, anyone who reaches it calls Nylas with your API key' : ''}`,
        );
      const webhookAddr = webhooks ? await webhooks.start() : undefined;
      pollers.start();
      traffic?.start();
      sweeper = setInterval(keyHealth.sweep, KEY_SWEEP_MS);
      sweeper.unref();
      sweepTimer = setInterval(() => grantHealth.sweep(), 60_000);
      sweepTimer.unref();
      ready = true;
      return {
        proxy: proxyAddr ? urlOf(proxyAddr) : undefined,
        admin: urlOf(adminAddr, adminWeb?.tls ? 'https' : 'http'),
        webhook: webhookAddr ? urlOf(webhookAddr, webhooks?.tls ? 'https' : 'http') : undefined,
      };
    },
    reloadWebConfig() {
      adminWeb?.reload();
      webhooks?.reloadWebConfig();
    },
    stop() {
      stopping ??= (async () => {
        ready = false;
        adminWeb?.close();
        clearInterval(sweeper);
        traffic?.stop();
        clearInterval(sweepTimer);
        const grace = config.shutdownGraceMs;
        await Promise.all([proxy?.stop(grace), webhooks?.stop(grace)]);
        await pollers.stop();
        await tracing.shutdown();
        if (adminServer) await closeServer(adminServer, 1000);
        logger.info({ event: 'stopped' }, 'nylas-sidecar stopped');
      })();
      return stopping;
    },
  };
}
