// SCAFFOLD (issue 3 replaces this): demo mode's public surface.
import type { Logger } from '../log/logger.js';

export interface DemoOptions {
  /** Name of the simulator scenario to start with. */
  scenario: string;
  logger: Logger;
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
  /**
   * Starts driving traffic through the proxy with the official nylas SDK, and (when `webhook` is
   * given) signed webhook deliveries from the simulator to the sidecar's webhook listener.
   */
  startTraffic(urls: { proxy: string; webhook?: string }): void;
  stopTraffic(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the simulator in this process for demo mode. */
export function startDemo(_opts: DemoOptions): Promise<Demo> {
  return Promise.reject(new Error('demo mode is not built yet'));
}
