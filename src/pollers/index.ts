// SCAFFOLD (issue 4 replaces this): the pollers' public surface, so app.ts can be wired now.
import type { Tracer } from '@opentelemetry/api';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/index.js';

export interface PollersDeps {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  tracer: Tracer;
}

export interface Pollers {
  /** Schedules every enabled poller (and runs each once at start). */
  start(): void;
  /** Stops the schedules and waits for running polls to end (bounded). */
  stop(): Promise<void>;
}

/** Creates the pollers that are enabled by the configuration. */
export function createPollers(_deps: PollersDeps): Pollers {
  return { start: () => undefined, stop: () => Promise.resolve() };
}
