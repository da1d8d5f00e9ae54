import type { IncomingMessage } from 'node:http';
import type { Pool } from 'undici';
import type { ProxySpans } from '../tracing/proxy-spans.js';
import type { Metrics } from '../metrics/index.js';
import type { Recorder } from './instrument.js';

/** What every exchange shares: built once per proxy, read on every request. */
export interface ProxyContext {
  pool: Pool;
  /** Path of the upstream base URL, without a trailing slash ('' for a bare origin). */
  basePath: string;
  timeoutMs: number;
  retryMax: number;
  metrics: Metrics;
  /** The proxy's span path; undefined when no spans are exported. */
  spans: ProxySpans | undefined;
  record: Recorder;
  /** The trace id of the app's traceparent, for exemplars when the sidecar exports no spans. */
  incomingTraceId(req: IncomingMessage): string | undefined;
}
