import type { GrantHealth, KeyHealth, NotifiedGrant } from '../credentials/index.js';
import type { Tracer } from '@opentelemetry/api';
import { Agent, type Dispatcher } from 'undici';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { Metrics } from '../metrics/index.js';
import { createNylasClient, type NylasApiName } from '../nylas/index.js';
import { createAccountsSource, type AccountsSnapshot } from './accounts.js';
import { createGrantLookup, type GrantLookup } from './grant-lookup.js';
import { createGrantsSource, type GrantsSnapshot } from './grants.js';
import { createPoller, type Poller, type PollerName, type PollerState } from './lifecycle.js';
import { createPacer, realSleep, type Sleep } from './pace.js';
import { createStatusPageSource, type StatusPageSnapshot } from './status-page.js';
import { createWebhooksSource, type WebhooksSnapshot } from './webhooks.js';

export type { PollerName, PollerState } from './lifecycle.js';
export type { AccountsSnapshot, AccountRestart, UnhealthyAccount } from './accounts.js';
export type { GrantsSnapshot, InvalidGrant } from './grants.js';
export type { StatusPageSnapshot, StatusIncident } from './status-page.js';
export type { WebhooksSnapshot, WebhookDestination } from './webhooks.js';

export interface PollersDeps {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  tracer: Tracer;
  /** Wall clock, Unix ms (tests move it: restart cooldown, freshness). Default Date.now. */
  now?: () => number;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /** Sleep used to pace requests. Default: a real, abortable timer. */
  sleep?: Sleep;
  /**
   * Requests per second to the Grants/Webhooks/v2 APIs. Default 8, and never more than 8 within
   * any 1.1 s: under a fifth of Nylas's 50/s per-application limit, which the app's own calls
   * share, even when network delays bunch requests up on their way to Nylas.
   */
  requestsPerSecond?: number;
  /** Deadline per run (tests); default from each schedule. */
  deadlineMs?: number;
  /** HTTP dispatcher; default a small keep-alive pool closed on stop(). */
  dispatcher?: Dispatcher;
  /** Told of 401s and successes with NYLAS_API_KEY: a 401 there is the key's, never a grant's. */
  keyHealth?: KeyHealth;
  /** Grant health from notifications: the invalid-grants poll supersedes what it learnt. */
  grantHealth?: GrantHealth;
}

/** APIs called with NYLAS_API_KEY (v2 ones use the client secret; the status page nothing). */
const KEY_APIS: ReadonlySet<NylasApiName> = new Set(['grants', 'grant', 'webhooks']);

/** Everything the pollers know, for /status, / and /support. */
export interface PollersSnapshot {
  pollers: PollerState[];
  grants: GrantsSnapshot | undefined;
  accounts: AccountsSnapshot | undefined;
  webhooks: WebhooksSnapshot | undefined;
  statusPage: StatusPageSnapshot | undefined;
  /** Grants whose health a notification told since the last poll of this process. */
  notifiedGrants: NotifiedGrant[];
}

export type { GrantLookup } from './grant-lookup.js';

export interface Pollers {
  /** Schedules every enabled poller (and runs each once at start). */
  start(): void;
  /** Stops the schedules and waits for running polls to end (bounded by their abort). */
  stop(): Promise<void>;
  /** Runs one poller now, ignoring backoff; resolves with its result (tests, operators). */
  runOnce(name: PollerName): Promise<'success' | 'error' | 'disabled'>;
  snapshot(): PollersSnapshot;
  /** One grant: from the last poll when it was invalid, else `GET /v3/grants/{id}`. */
  lookupGrant(grantId: string): Promise<GrantLookup>;
}

/** See PollersDeps.requestsPerSecond. */
export const DEFAULT_REQUESTS_PER_SECOND = 8;
/** Far above what counting needs (a few hundred requests); a stuck census still ends. */
const CENSUS_MAX_DEADLINE_MS = 30 * 60_000;

/** Creates the pollers that are enabled by the configuration. */
export function createPollers(deps: PollersDeps): Pollers {
  const { config, metrics, logger, tracer } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const ownDispatcher = deps.dispatcher
    ? undefined
    : new Agent({ connections: 4, keepAliveTimeout: 10_000 });
  const dispatcher = deps.dispatcher ?? ownDispatcher;
  const { apiKey, clientId, clientSecret } = config.nylas;
  const client = createNylasClient({
    apiUri: config.nylas.apiUri,
    apiKey,
    clientId,
    clientSecret,
    dispatcher,
    now,
    onAnswer: (api, code) => {
      metrics.pollerRequests.inc({ api, code });
      if (apiKey !== undefined && KEY_APIS.has(api))
        deps.keyHealth?.pollerAnswer(apiKey, Number(code));
    },
  });
  // One pacer for everything that hits the application-scoped limits; the pacer's own clock is
  // monotonic, since the wall clock may be moved by tests.
  const pace = createPacer({
    perSecond: deps.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND,
    now: () => performance.now(),
    sleep: deps.sleep ?? realSleep,
  });
  const v2 = clientId !== undefined && clientSecret !== undefined;
  // Bounded, cached and paced in its own lane: /support requests never take the pollers' share.
  const lookup = createGrantLookup({
    client,
    pace,
    logger,
    now,
    clock: () => performance.now(),
  });

  const grants = createGrantsSource({
    client,
    metrics,
    maxSeries: config.pollers.maxGrantSeries,
    pace,
    now,
    onInvalidPublished: (_invalid, startedAt) => deps.grantHealth?.supersede(startedAt),
  });
  const accounts = createAccountsSource({
    client,
    metrics,
    logger,
    maxSeries: config.pollers.maxGrantSeries,
    restart: config.pollers.restartStoppedAccounts,
    pace,
    now,
  });
  const webhooks = createWebhooksSource({ client, metrics, pace, now });
  const statusPage = createStatusPageSource({
    statusPageUrl: config.nylas.statusPageUrl,
    apiUri: config.nylas.apiUri,
    metrics,
    dispatcher,
    now,
  });

  const common = { metrics, logger, tracer, now, random, deadlineMs: deps.deadlineMs };
  // A proxy-role instance polls nothing: one pollers instance does it for every replica.
  const roleOff =
    config.role === 'proxy' ? 'SIDECAR_ROLE=proxy (a pollers instance polls)' : undefined;
  const pollers: Record<PollerName, Poller> = {
    grants: createPoller({
      ...common,
      source: grants.source,
      schedule: config.pollers.grants,
      disabledReason: roleOff ?? (apiKey ? undefined : 'NYLAS_API_KEY is not set'),
    }),
    grants_census: createPoller({
      ...common,
      source: grants.census,
      schedule: config.pollers.grantsCensus,
      maxDeadlineMs: CENSUS_MAX_DEADLINE_MS,
      disabledReason: roleOff ?? (apiKey ? undefined : 'NYLAS_API_KEY is not set'),
    }),
    accounts: createPoller({
      ...common,
      source: accounts.source,
      schedule: config.pollers.accounts,
      disabledReason:
        roleOff ?? (v2 ? undefined : 'NYLAS_CLIENT_ID and NYLAS_CLIENT_SECRET are not set'),
    }),
    webhooks: createPoller({
      ...common,
      source: webhooks.source,
      schedule: config.pollers.webhooks,
      disabledReason: roleOff ?? (apiKey ? undefined : 'NYLAS_API_KEY is not set'),
    }),
    status_page: createPoller({
      ...common,
      source: statusPage.source,
      schedule: config.pollers.statusPage,
      disabledReason: roleOff,
    }),
  };
  const all = Object.values(pollers);
  let stopping: Promise<void> | undefined;

  return {
    start() {
      for (const p of all) p.start();
      const on = all.filter((p) => p.state().enabled).map((p) => p.name);
      const off = all
        .filter((p) => !p.state().enabled)
        .map((p) => `${p.name} (${p.state().disabledReason ?? 'off'})`);
      logger.info({ event: 'pollers_started', enabled: on, disabled: off }, 'pollers started');
    },
    stop() {
      stopping ??= (async () => {
        await Promise.all(all.map((p) => p.stop()));
        await ownDispatcher?.close();
      })();
      return stopping;
    },
    async runOnce(name) {
      const p = pollers[name];
      if (!p.state().enabled && p.state().disabledReason !== 'schedule is off') return 'disabled';
      return p.runOnce();
    },
    snapshot() {
      return {
        pollers: all.map((p) => p.state()),
        grants: grants.snapshot(),
        accounts: accounts.snapshot(),
        webhooks: webhooks.snapshot(),
        statusPage: statusPage.snapshot(),
        notifiedGrants: deps.grantHealth?.list() ?? [],
      };
    },
    async lookupGrant(grantId) {
      // What a notification said since the last poll is the newest word on it.
      const told = deps.grantHealth?.list().find((g) => g.grantId === grantId);
      if (told && told.state !== 'deleted')
        return {
          found: true,
          source: 'notification',
          checkedAt: told.receivedAt,
          grant: { id: told.grantId, provider: told.provider, grant_status: told.state },
        };
      const known = grants.snapshot()?.invalid.find((g) => g.grantId === grantId);
      if (known)
        return {
          found: true,
          source: 'poll',
          grant: {
            id: known.grantId,
            provider: known.provider,
            grant_status: 'invalid',
            updated_at: known.updatedAt,
          },
        };
      if (!client.hasApiKey) return { found: false, reason: 'unavailable' };
      return lookup(grantId);
    },
  };
}
