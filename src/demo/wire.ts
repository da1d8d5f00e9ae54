// How demo mode changes the sidecar around it: the simulator as upstream, fast pollers, retries
// and restart automation on (so every panel fills), and a poll at once on a scenario switch.
import { withOverrides, type Config } from '../config/index.js';
import type { Pollers, PollerName } from '../pollers/index.js';
import type { Demo } from './index.js';

/** Demo poller schedules (node-cron, with seconds): every 15-30 s instead of 1-5 min. */
export const DEMO_POLLERS = {
  grants: '*/20 * * * * *',
  grantsCensus: '*/30 * * * * *',
  webhooks: '*/15 * * * * *',
  statusPage: '*/15 * * * * *',
  accounts: '*/30 * * * * *',
} as const;
/** Retries in the demo: enough to see them under `outage` and `rate-limited`. */
const DEMO_RETRY_MAX = 2;

/**
 * The configuration with the demo's simulator, credentials and schedules in it. Settings given
 * explicitly in `env` (e.g. faster schedules in tests) are kept.
 */
export function demoConfig(
  config: Config,
  d: Demo,
  env: Readonly<Record<string, string | undefined>> = {},
): Config {
  const given = (k: string) => env[k] !== undefined && env[k].trim() !== '';
  return withOverrides(config, (c) => {
    c.nylas.apiUri = new URL(d.upstreamUrl);
    c.nylas.statusPageUrl = new URL(d.statusPageUrl);
    c.nylas.apiKey = d.credentials.apiKey;
    c.nylas.clientId = d.credentials.clientId;
    c.nylas.clientSecret = d.credentials.clientSecret;
    // A scenario switch must show within seconds, not at the next 5-minute poll.
    if (!given('SIDECAR_POLL_GRANTS')) c.pollers.grants = DEMO_POLLERS.grants;
    if (!given('SIDECAR_POLL_GRANTS_CENSUS')) c.pollers.grantsCensus = DEMO_POLLERS.grantsCensus;
    if (!given('SIDECAR_POLL_WEBHOOKS')) c.pollers.webhooks = DEMO_POLLERS.webhooks;
    if (!given('SIDECAR_POLL_STATUS_PAGE')) c.pollers.statusPage = DEMO_POLLERS.statusPage;
    if (!given('SIDECAR_POLL_ACCOUNTS')) c.pollers.accounts = DEMO_POLLERS.accounts;
    if (!given('SIDECAR_RESTART_STOPPED_ACCOUNTS')) c.pollers.restartStoppedAccounts = true;
    if (!given('SIDECAR_RETRY_MAX')) c.proxy.retryMax = DEMO_RETRY_MAX;
    // The demo shows webhook delivery metrics too: a listener in front of the demo app.
    if (!c.webhook.listen) {
      c.webhook.listen = { host: '127.0.0.1', port: 0 };
      c.webhook.forwardUrl = new URL(d.appWebhookUrl);
      c.nylas.webhookSecrets = [d.credentials.webhookSecret];
      c.webhook.verify = 'enforce';
    }
  });
}

const POLLERS: readonly PollerName[] = [
  'grants',
  'grants_census',
  'accounts',
  'webhooks',
  'status_page',
];

/**
 * Polls everything at once after a scenario switch, so that the pages show the new scenario
 * (and lose the old one's leftovers) within seconds. Resolves nothing: runs are failure-as-data.
 */
export function pollOnScenarioChange(d: Demo, pollers: Pollers): void {
  d.onScenarioChange(() => {
    const running = new Set(
      pollers
        .snapshot()
        .pollers.filter((p) => p.running)
        .map((p) => p.name),
    );
    for (const name of POLLERS)
      // A run already under way started before the switch: run again once it is over.
      void pollers
        .runOnce(name)
        .then(() => (running.has(name) ? pollers.runOnce(name) : undefined));
  });
}
