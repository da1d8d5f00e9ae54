// Demo mode: the Nylas simulator in this process, a demo app's webhook endpoint, and generated
// traffic through the proxy with the official SDK. Loaded only when there is no NYLAS_API_KEY.
import type { Logger } from '../log/index.js';
import {
  createSimulator,
  createWebhookSender,
  describeScenario,
  makeEvent,
  SCENARIOS,
} from '../simulator/index.js';
import { createDemoApp } from './app.js';
import { startTraffic as startSdkTraffic, type Traffic } from './traffic.js';

export interface DemoOptions {
  /** Name of the simulator scenario to start with. */
  scenario: string;
  logger: Logger;
  /**
   * Where the simulator listens (default 127.0.0.1, a free port). A fixed address makes the
   * scenario command stable, e.g. in a container that publishes the port.
   */
  simulatorListen?: { host: string; port: number };
  /** Milliseconds between demo SDK calls (tests go faster); default the traffic module's. */
  trafficIntervalMs?: number;
  /** Most demo SDK calls in flight at once; default the traffic module's. */
  trafficMaxInFlight?: number;
}

/** A running demo: the in-process simulator and the traffic generator. */
export interface Demo {
  /** Base URL of the simulated Nylas API. */
  upstreamUrl: string;
  /** Base URL of the simulated status page (summary.json under /api/v2/). */
  statusPageUrl: string;
  /** Credentials the simulator accepts, used by the pollers and the traffic generator. */
  credentials: { apiKey: string; clientId: string; clientSecret: string; webhookSecret: string };
  /** The demo app's own webhook endpoint: the webhook listener forwards deliveries here. */
  appWebhookUrl: string;
  /** One shell command that switches the running demo's scenario. */
  scenarioCommand: string;
  /** The scenario names the demo knows. */
  scenarios: readonly string[];
  /** The scenario running now. */
  readonly scenario: string;
  /** Switches the simulator's scenario (as POST /demo/scenario does). */
  setScenario(name: string): void;
  /** Calls `listener` after every scenario switch (the pollers re-run at once then). */
  onScenarioChange(listener: (name: string) => void): void;
  /**
   * Starts driving traffic through the proxy with the official nylas SDK, and (when `webhook` is
   * given) signed webhook deliveries from the simulator to the sidecar's webhook listener.
   */
  startTraffic(urls: { proxy: string; webhook?: string }): void;
  stopTraffic(): Promise<void>;
  stop(): Promise<void>;
}

/** Triggers the demo's webhook destination subscribes to and the simulator delivers. */
const DEMO_TRIGGERS = [
  'message.created',
  'message.updated',
  'event.created',
  'event.updated',
  'grant.expired',
  'grant.updated',
  'thread.replied',
];

/**
 * Triggers of the generated traffic: not grant.*, whose deliveries now change grant health; those
 * come from real grant changes (the grant-expiry scenario).
 */
const TRAFFIC_TRIGGERS = DEMO_TRIGGERS.filter((t) => !t.startsWith('grant.'));

/**
 * Demo data size: enough grants for the grants poller to page. None starts invalid: `healthy`
 * must look healthy; the `invalid-grants` scenario shows invalid grants.
 */
const DEMO_GRANTS = 240;

/** Starts the simulator in this process for demo mode. */
export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const { logger } = opts;
  if (!SCENARIOS.includes(opts.scenario))
    throw new Error(
      `unknown demo scenario "${opts.scenario}" (SIDECAR_DEMO_SCENARIO); valid: ${SCENARIOS.join(', ')}`,
    );
  const credentials = {
    apiKey: 'nylas-sim-api-key',
    clientId: 'sim-client-id',
    clientSecret: 'sim-client-secret',
    webhookSecret: 'sim-webhook-secret',
  };
  const sim = createSimulator({
    scenario: opts.scenario,
    grants: DEMO_GRANTS,
    accounts: 12,
    ...credentials,
  });
  const upstreamUrl = await sim.start(
    opts.simulatorListen?.port ?? 0,
    opts.simulatorListen?.host ?? '127.0.0.1',
  );
  const app = createDemoApp({ failing: () => sim.scenario === 'webhook-failing' });
  let appWebhookUrl: string;
  try {
    appWebhookUrl = await app.start();
  } catch (err) {
    await sim.stop();
    throw err;
  }
  const scenarioCommand = `curl -s -X POST ${upstreamUrl}/_simulator/scenario -H 'content-type: application/json' -d '{"name":"outage"}'   # scenarios: ${SCENARIOS.join(', ')}`;
  logger.info(
    {
      event: 'demo_started',
      simulator: upstreamUrl,
      scenario: sim.scenario,
      scenarios: SCENARIOS,
      control: `${upstreamUrl}/_simulator`,
    },
    `demo mode: simulator at ${upstreamUrl}, scenario ${sim.scenario} (${describeScenario(sim.scenario) ?? ''})`,
  );

  let traffic: Traffic | undefined;
  let registerTimer: NodeJS.Timeout | undefined;
  let webhookId: string | undefined;
  let stopped = false;

  /** Registers the sidecar's webhook listener as a destination, as an app would (with the challenge). */
  async function register(listenerUrl: string): Promise<void> {
    try {
      const res = await fetch(`${upstreamUrl}/v3/webhooks`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${credentials.apiKey}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          description: 'nylas-sidecar demo (webhook listener)',
          trigger_types: DEMO_TRIGGERS,
          webhook_url: listenerUrl,
          notification_email_addresses: ['demo@example.com'],
        }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json()) as { data?: { id?: unknown } };
      if (res.status === 200 && typeof body.data?.id === 'string') {
        webhookId = body.data.id;
        logger.info(
          { event: 'demo_webhook_registered', webhook_id: webhookId },
          'demo webhook destination registered',
        );
        return;
      }
      logger.info(
        { event: 'demo_webhook_register_retry', status: res.status },
        'demo webhook registration failed; retrying',
      );
    } catch (err) {
      logger.info(
        { event: 'demo_webhook_register_retry', err: (err as Error).message },
        'demo webhook registration failed; retrying',
      );
    }
    // Under a fault scenario creation can fail, like against Nylas: try again later.
    if (!stopped) {
      registerTimer = setTimeout(() => void register(listenerUrl), 5_000);
      registerTimer.unref();
    }
  }

  let deliveries = 0;
  const realSender = createWebhookSender({ secret: credentials.webhookSecret });
  const forger = createWebhookSender({ secret: 'not-the-webhook-secret' });
  const demo: Demo = {
    upstreamUrl,
    statusPageUrl: upstreamUrl,
    credentials,
    appWebhookUrl,
    scenarioCommand,
    scenarios: SCENARIOS,
    get scenario() {
      return sim.scenario;
    },
    onScenarioChange(listener) {
      sim.onScenarioChange(listener);
    },
    setScenario(name) {
      sim.setScenario(name);
    },
    startTraffic(urls) {
      if (traffic || stopped) return;
      if (urls.webhook) void register(urls.webhook);
      traffic = startSdkTraffic({
        proxyUrl: urls.proxy,
        apiKey: credentials.apiKey,
        grantIds: sim.listGrantIds(),
        logger,
        intervalMs: opts.trafficIntervalMs,
        maxInFlight: opts.trafficMaxInFlight,
        deliver: urls.webhook
          ? async () => {
              if (webhookId === undefined) return;
              const trigger =
                TRAFFIC_TRIGGERS[Math.floor(Math.random() * TRAFFIC_TRIGGERS.length)]!;
              await sim.deliverWebhooks({ trigger, count: 1 });
              // Now and then what Nylas's at-least-once delivery and the open internet bring: the
              // same notification twice, and a delivery signed with the wrong secret. One
              // attempt each, so the forged one is not retried.
              deliveries++;
              if (deliveries % 10 === 0) {
                const event = makeEvent(trigger);
                await realSender.deliver(urls.webhook!, event, { maxAttempts: 1 });
                await realSender.deliver(urls.webhook!, event, { maxAttempts: 1 });
              }
              // Forged deliveries belong to the webhook trouble scenario: `healthy` stays clean.
              if (deliveries % 2 === 0 && sim.scenario === 'webhook-failing')
                await forger.deliver(urls.webhook!, makeEvent(trigger), { maxAttempts: 1 });
            }
          : undefined,
      });
    },
    async stopTraffic() {
      clearTimeout(registerTimer);
      const t = traffic;
      traffic = undefined;
      await t?.stop();
    },
    async stop() {
      stopped = true;
      await demo.stopTraffic();
      await Promise.all([sim.stop(), app.stop()]);
    },
  };
  return demo;
}
