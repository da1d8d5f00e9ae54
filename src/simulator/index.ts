// The Nylas simulator: one HTTP server for the v3 API, the v2 application API, an
// Atlassian-Statuspage-compatible status page and a control API. Demo mode and tests only:
// production code never imports it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SimContext, SimulatorStats } from './context.js';
import { handleControl } from './control.js';
import { applyFaultsPatch, noFaults, type Faults } from './faults.js';
import { grantId as grantObjectId, providerOf } from './data.js';
import { prng } from './random.js';
import { createRequestHandler } from './router.js';
import { applyScenario, grantExpiryInterval, SCENARIOS } from './scenarios.js';
import {
  Accounts,
  Grants,
  seedWebhooks,
  webhookView,
  type GrantStatus,
  type WebhookStatus,
} from './state.js';
import {
  StatusPage,
  type ComponentStatus,
  type IncidentImpact,
  type IncidentStatus,
  type Indicator,
} from './status-page.js';
import { createWebhookSender, GRANT_CODES, makeEvent } from './webhook-sender.js';
import { channelView, seedChannels } from './channels.js';

export { SCENARIOS, describeScenario } from './scenarios.js';
export { CONTROL_ROUTES } from './control.js';
export { createWebhookSender, makeEvent } from './webhook-sender.js';
export type { ErrorFault, Faults, RouteFamily } from './faults.js';
export { ROUTE_FAMILIES, noFaults } from './faults.js';
export type { SimulatorStats } from './context.js';
export type { ComponentStatus, IncidentImpact, IncidentStatus, Indicator } from './status-page.js';
export { COMPONENT_NAMES } from './status-page.js';
export { LARGE_ATTACHMENT_MESSAGE, LARGE_ATTACHMENT_SIZE, PER_GRANT } from './data.js';

export interface SimulatorOptions {
  /** Scenario to start in (default `healthy`). */
  scenario?: string;
  /** Seeded v3 grants (default 25); generated lazily, so 50,000 cost almost nothing. */
  grants?: number;
  /** How many seeded grants start invalid (default 0), spread over the range. */
  invalidGrants?: number;
  /** v2 accounts (default 10). */
  accounts?: number;
  /** Seed of every generated object (default 1). */
  seed?: number;
  /** Clock in milliseconds (timestamps, the application rate limit window). */
  now?: () => number;
  /** Accepted v3 Bearer key (default `nylas-sim-api-key`). */
  apiKey?: string;
  /** v2 application credentials (defaults `sim-client-id` / `sim-client-secret`). */
  clientId?: string;
  clientSecret?: string;
  /** Signs webhook deliveries (default `sim-webhook-secret`); returned as every destination's webhook_secret. */
  webhookSecret?: string;
  /** Nylas's application limit on /v3/grants and /v3/webhooks (default 50 per second), each. */
  grantsRateLimitPerSecond?: number;
  /**
   * Send grant.expired / grant.updated (re-authentication) / grant.deleted to subscribed
   * destinations when a grant's status changes or it is deleted (default off; switchable).
   */
  grantNotifications?: boolean;
}

/** Result of a control-triggered webhook delivery. */
export interface DeliverySummary {
  destinations: number;
  sent: number;
  delivered: number;
  failed: number;
}

export interface Simulator {
  /** Starts listening (default 127.0.0.1, port 0) and resolves the base URL. */
  start(port?: number, host?: string): Promise<string>;
  /** Base URL once started (empty before). */
  readonly url: string;
  stop(): Promise<void>;
  /** Current scenario name. */
  readonly scenario: string;
  /** Current faults (a copy). */
  readonly faults: Faults;
  /** Switches scenario (faults, webhook statuses, status page reset first); throws on an unknown name. */
  setScenario(name: string): void;
  /** Calls `listener` after every scenario switch, however it was made (API, control route). */
  onScenarioChange(listener: (name: string) => void): void;
  /** Changes some faults; throws FaultsError on an invalid patch. */
  setFaults(patch: Partial<Faults>): void;
  /**
   * Sets a grant's status; with grant notifications on, resolves when the grant.expired (invalid)
   * or grant.updated (valid again) delivery to subscribed destinations is over.
   */
  setGrantStatus(grantId: string, status: GrantStatus): Promise<DeliverySummary | undefined>;
  /** Grant notifications on or off (see SimulatorOptions.grantNotifications). */
  grantNotifications: boolean;
  /** Every live grant ID, in index order (O(n)). */
  listGrantIds(): string[];
  /**
   * Sets a destination's status; `sinceSeconds` says how long ago it began (a destination that has
   * been failing for 30 hours), default now.
   */
  setWebhookStatus(webhookId: string, status: WebhookStatus, sinceSeconds?: number): void;
  /** The same for a Pub/Sub or SNS channel. */
  setChannelStatus(channelId: string, status: WebhookStatus, sinceSeconds?: number): void;
  /** Channel IDs (Pub/Sub first, then SNS). */
  listChannelIds(): string[];
  /** Sets a v2 account's sync_state (e.g. `stopped`, `running`, `invalid-credentials`). */
  setAccountSyncState(accountId: string, state: string): void;
  /** v2 account IDs. */
  listAccountIds(): string[];
  openIncident(i: { name: string; impact: IncidentImpact; status?: IncidentStatus }): string;
  resolveIncident(id: string): void;
  /** Forces the status indicator; null goes back to computing it from incidents and components. */
  setStatusIndicator(indicator: Indicator | null): void;
  /**
   * Sets one component (`API`, `Webhooks`, `Email Sync`, `Calendar Sync`, `Authentication`,
   * `Dashboard`; with `group` `US` or `EU`, one of the grouped layout of `platform-regional`).
   */
  setComponentStatus(name: string, status: ComponentStatus, group?: string): void;
  /** Starts an in-progress scheduled maintenance; returns its id. */
  startMaintenance(name?: string): string;
  endMaintenance(): void;
  /** /api/v2/* answers 302 to this base (path or absolute URL); null serves it directly. */
  setStatusPageRedirect(to: string | null): void;
  /**
   * Sends `count` signed notifications of a trigger to every destination created through the API
   * that is `active` or `failing` and subscribed to it (Nylas stops sending to `pause`/`failed`).
   */
  deliverWebhooks(req: { trigger: string; count?: number }): Promise<DeliverySummary>;
  /** A JSON-ready snapshot (GET /_simulator/state). */
  state(): Record<string, unknown>;
  readonly stats: SimulatorStats;
}

/** Creates a simulator; nothing listens until start(). */
export function createSimulator(opts: SimulatorOptions = {}): Simulator {
  const seed = opts.seed ?? 1;
  const now = opts.now ?? Date.now;
  const grantCount = opts.grants ?? 25;
  const invalidGrants = opts.invalidGrants ?? 0;
  if (!Number.isInteger(grantCount) || grantCount < 0)
    throw new Error('grants must be an integer >= 0');
  if (!Number.isInteger(invalidGrants) || invalidGrants < 0 || invalidGrants > grantCount)
    throw new Error('invalidGrants must be an integer from 0 to grants');
  const timers = new Set<NodeJS.Timeout>();
  const sender = createWebhookSender({
    secret: opts.webhookSecret ?? 'sim-webhook-secret',
    now,
    backoffMs: () => 500,
  });
  const ctx: SimContext = {
    seed,
    now,
    apiKey: opts.apiKey ?? 'nylas-sim-api-key',
    clientId: opts.clientId ?? 'sim-client-id',
    clientSecret: opts.clientSecret ?? 'sim-client-secret',
    webhookSecret: opts.webhookSecret ?? 'sim-webhook-secret',
    grantsRateLimitPerSecond: opts.grantsRateLimitPerSecond ?? 50,
    faults: noFaults(),
    grants: new Grants(seed, grantCount, invalidGrants),
    webhooks: seedWebhooks(seed, Math.floor(now() / 1000)),
    channels: seedChannels(seed, Math.floor(now() / 1000)),
    accounts: new Accounts(seed, opts.accounts ?? 10),
    statusPage: new StatusPage(seed, now),
    stats: {
      requests: 0,
      sidecarRequests: 0,
      grantsRequests: 0,
      grantsMaxPerSecond: 0,
      rateLimited: 0,
      accountRestarts: [],
    },
    random: prng(seed ^ 0x5eed),
    sends: { count: 0, idempotency: new Map() },
    sleep: (ms) =>
      new Promise((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        timers.add(t);
      }),
    challenge: async (url) => (await sender.challenge(url)).ok,
    grantDeleted: (i) => {
      if (sim.grantNotifications) void notifyGrant(i, 'grant.deleted');
    },
  };
  let scenario = 'healthy';
  const scenarioListeners: Array<(name: string) => void> = [];
  let expiryTimer: NodeJS.Timeout | undefined;
  const expired: string[] = [];
  /** grant-expiry scenario: one grant expires; every third time the oldest one re-authenticates. */
  async function expireOne(): Promise<void> {
    if (ctx.grants.count === 0) return;
    try {
      const id = grantIdOf(Math.floor(ctx.random() * ctx.grants.count));
      if (ctx.grants.status(ctx.grants.indexOf(id), ctx.faults) === 'valid') {
        expired.push(id);
        await sim.setGrantStatus(id, 'invalid');
      }
      if (expired.length >= 3) await sim.setGrantStatus(expired.shift()!, 'valid');
    } catch {
      // A deleted grant, or the simulator stopping: the next tick tries another.
    }
  }
  const handle = createRequestHandler(ctx, (x) => handleControl(sim, x));

  let server: Server | undefined;
  let baseUrl = '';

  const sim: Simulator = {
    get url() {
      return baseUrl;
    },
    get scenario() {
      return scenario;
    },
    get faults() {
      return structuredClone(ctx.faults);
    },
    get stats() {
      return ctx.stats;
    },
    async start(port = 0, host = '127.0.0.1') {
      if (server) return baseUrl;
      const s = createServer((req, res) => void handle(req, res));
      s.keepAliveTimeout = 5_000;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      server = s;
      const addr = s.address() as AddressInfo;
      const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      baseUrl = `http://${shown === '0.0.0.0' ? '127.0.0.1' : shown === '[::]' ? '[::1]' : shown}:${addr.port}`;
      return baseUrl;
    },
    async stop() {
      clearInterval(expiryTimer);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
    setScenario(name) {
      clearInterval(expiryTimer);
      expiryTimer = undefined;
      ctx.faults = applyScenario(name, {
        webhooks: ctx.webhooks,
        channels: ctx.channels,
        statusPage: ctx.statusPage,
        nowSec: Math.floor(now() / 1000),
      });
      ctx.statusPage.failuresLeft = ctx.faults.statusPageFailures;
      scenario = name;
      const every = grantExpiryInterval(name);
      if (every !== undefined) {
        sim.grantNotifications = true;
        expiryTimer = setInterval(() => void expireOne(), every);
        expiryTimer.unref();
      }
      for (const l of scenarioListeners) l(name);
    },
    onScenarioChange(listener) {
      scenarioListeners.push(listener);
    },
    setFaults(patch) {
      ctx.faults = applyFaultsPatch(ctx.faults, patch);
      if (patch.statusPageFailures !== undefined)
        ctx.statusPage.failuresLeft = ctx.faults.statusPageFailures;
    },
    async setGrantStatus(grantId, status) {
      if (status !== 'valid' && status !== 'invalid')
        throw new Error('status must be valid or invalid');
      const i = ctx.grants.indexOf(grantId);
      if (i < 0) throw new Error(`no grant "${grantId}"`);
      const before = ctx.grants.status(i, ctx.faults);
      ctx.grants.overrides.set(i, status);
      if (!sim.grantNotifications || before === status) return undefined;
      return notifyGrant(i, status === 'invalid' ? 'grant.expired' : 'grant.updated');
    },
    grantNotifications: opts.grantNotifications ?? false,
    listGrantIds() {
      const out: string[] = [];
      for (let i = 0; i < ctx.grants.count; i++)
        if (!ctx.grants.deleted.has(i)) out.push(grantIdOf(i));
      return out;
    },
    setWebhookStatus(webhookId, status, sinceSeconds) {
      const w = ctx.webhooks.get(webhookId);
      if (!w) throw new Error(`no webhook destination "${webhookId}"`);
      if (!['active', 'pause', 'failing', 'failed'].includes(status))
        throw new Error('status must be active, pause, failing or failed');
      if (w.status !== status || sinceSeconds !== undefined)
        w.status_updated_at = Math.floor(now() / 1000) - (sinceSeconds ?? 0);
      w.status = status;
    },
    setChannelStatus(channelId, status, sinceSeconds) {
      const c = ctx.channels.get(channelId);
      if (!c) throw new Error(`no notification channel "${channelId}"`);
      if (!['active', 'pause', 'failing', 'failed'].includes(status))
        throw new Error('status must be active, pause, failing or failed');
      if (c.status !== status || sinceSeconds !== undefined)
        c.status_updated_at = Math.floor(now() / 1000) - (sinceSeconds ?? 0);
      c.status = status;
    },
    listChannelIds() {
      return [...ctx.channels.values()]
        .sort((a, b) => a.type.localeCompare(b.type))
        .map((c) => c.id);
    },
    setAccountSyncState(accountId, state) {
      if (!ctx.accounts.find(accountId)) throw new Error(`no v2 account "${accountId}"`);
      ctx.accounts.overrides.set(accountId, state);
    },
    listAccountIds() {
      return ctx.accounts.list.map((a) => a.id);
    },
    openIncident: (i) => ctx.statusPage.openIncident(i),
    resolveIncident: (id) => ctx.statusPage.resolveIncident(id),
    setStatusIndicator: (i) => ctx.statusPage.setIndicator(i ?? undefined),
    setComponentStatus: (n, s, g) => ctx.statusPage.setComponentStatus(n, s, g),
    startMaintenance: (name) => ctx.statusPage.startMaintenance(name),
    endMaintenance: () => ctx.statusPage.endMaintenance(),
    setStatusPageRedirect: (to) => {
      ctx.statusPage.redirectTo = to ?? undefined;
    },
    async deliverWebhooks({ trigger, count = 1 }) {
      const g =
        ctx.grants.count > 0 ? grantIdOf(Math.floor(ctx.random() * ctx.grants.count)) : undefined;
      return deliverTo(trigger, count, () =>
        makeEvent(trigger, { now, grantId: g, applicationId: ctx.clientId }),
      );
    },
    state() {
      const f = ctx.faults;
      let invalid = 0;
      // Counting invalid grants is O(n); 50,000 grants take a few milliseconds.
      for (let i = 0; i < ctx.grants.count; i++)
        if (!ctx.grants.deleted.has(i) && ctx.grants.status(i, f) === 'invalid') invalid++;
      return {
        scenario,
        scenarios: SCENARIOS,
        faults: f,
        grants: { total: ctx.grants.count - ctx.grants.deleted.size, invalid },
        webhooks: [...ctx.webhooks.values()].map(webhookView),
        channels: [...ctx.channels.values()].map((c) => ({ ...channelView(c), type: c.type })),
        accounts: ctx.accounts.list.map((a) => {
          const v = ctx.accounts.view(a, f);
          return {
            id: v.id,
            provider: v.provider,
            sync_state: v.sync_state,
            billing_state: v.billing_state,
          };
        }),
        statusPage: ctx.statusPage.snapshot(),
        stats: ctx.stats,
      };
    },
  };

  function grantIdOf(i: number): string {
    return grantObjectId(seed, i);
  }

  /** Sends `count` events of `trigger` to every API-created destination that takes it. */
  async function deliverTo(
    trigger: string,
    count: number,
    make: () => ReturnType<typeof makeEvent>,
  ): Promise<DeliverySummary> {
    const targets = [...ctx.webhooks.values()].filter(
      (w) =>
        !w.seeded &&
        (w.status === 'active' || w.status === 'failing') &&
        w.trigger_types.includes(trigger),
    );
    const summary: DeliverySummary = {
      destinations: targets.length,
      sent: 0,
      delivered: 0,
      failed: 0,
    };
    await Promise.all(
      targets.flatMap((w) =>
        Array.from({ length: count }, async () => {
          summary.sent++;
          const r = await sender.deliver(w.webhook_url, make(), {
            compress: w.compressed_delivery,
          });
          if (r.delivered) summary.delivered++;
          else summary.failed++;
        }),
      ),
    );
    return summary;
  }

  /** A grant notification about grant i, shaped like Nylas's (a CloudEvents 1.0 envelope). */
  function notifyGrant(i: number, trigger: string): Promise<DeliverySummary> {
    return deliverTo(trigger, 1, () =>
      makeEvent(trigger, {
        now,
        applicationId: ctx.clientId,
        object: {
          code: GRANT_CODES[trigger],
          grant_id: grantIdOf(i),
          integration_id: 'sim-integration',
          provider: providerOf(seed, i),
          grant_updated_at: Math.floor(now() / 1000),
          ...(trigger === 'grant.updated' ? { reauthentication_flag: true } : {}),
        },
      }),
    );
  }

  sim.setScenario(opts.scenario ?? 'healthy');
  return sim;
}
