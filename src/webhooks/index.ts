// SCAFFOLD (issue 5 replaces this): the webhook listener's public surface.
import type { AddressInfo } from 'node:net';
import type { Tracer } from '@opentelemetry/api';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/index.js';

export interface WebhookListenerDeps {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  tracer: Tracer;
}

export interface WebhookListener {
  start(): Promise<AddressInfo>;
  /** Stops accepting and waits for in-flight deliveries up to graceMs. */
  stop(graceMs: number): Promise<void>;
}

/** Creates the webhook listener (only called when SIDECAR_WEBHOOK_LISTEN is set). */
export function createWebhookListener(_deps: WebhookListenerDeps): WebhookListener {
  throw new Error('the webhook listener is not built yet');
}
