import type { IncomingMessage } from 'node:http';
import type { Pool } from 'undici';
import type { ProxySpans } from '../tracing/index.js';
import type { ExemplarIds, Metrics } from '../metrics/index.js';
import type { Recorder } from './recorder.js';
import type { Sweeper } from './sweeper.js';

/** What every exchange shares: built once per proxy, read on every request. */
export interface ProxyContext {
  /** Connections for requests without a body. */
  pool: Pool;
  /** Connections for requests with a body (see Exchange.dispatch). */
  uploadPool: Pool;
  /** Checks the deadlines of requests waiting for a connection or for their body. */
  sweeper: Sweeper;
  /** How long a request body may bring almost nothing before it counts as stalled. */
  stallWindowMs: number;
  /** Path of the upstream base URL, without a trailing slash ('' for a bare origin). */
  basePath: string;
  timeoutMs: number;
  retryMax: number;
  metrics: Metrics;
  /** The proxy's span path; undefined when no spans are exported. */
  spans: ProxySpans | undefined;
  record: Recorder;
  /** The trace id of the app's traceparent, for exemplars when the sidecar exports no spans. */
  incomingTraceIds(req: IncomingMessage): ExemplarIds | undefined;
}
