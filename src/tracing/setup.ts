import { trace, type Tracer } from '@opentelemetry/api';
import type { ProxySpans } from './proxy-spans.js';
import type { Logger } from '../log/index.js';

/** The tracer the sidecar records spans with, and how to flush it on shutdown. */
export interface Tracing {
  readonly tracer: Tracer;
  /** True when spans are exported somewhere. */
  readonly exporting: boolean;
  /** Where spans go and how, when exporting (for the start banner; may hold credentials). */
  readonly exportTo?: { url: string; protocol: 'http/protobuf' | 'http/json' };
  /**
   * The proxy's own span path (see ./proxy-spans.ts), when exporting; built for `server`, the
   * upstream's address and port as spans report them.
   */
  proxySpans(server: { address: string; port: number }): ProxySpans | undefined;
  /** Flushes pending spans and stops the SDK; safe to call twice. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** The environment holding the standard OTEL_* variables. */
  env: Readonly<Record<string, string | undefined>>;
  version: string;
  /** Where lost spans are reported (a failing receiver, a full queue). */
  logger?: Logger;
}

const TRACER_NAME = 'nylas-sidecar';

/** No export: the API's no-op tracer and no proxy spans, which cost next to nothing. */
export function noTracing(version: string): Tracing {
  return {
    tracer: trace.getTracer(TRACER_NAME, version),
    exporting: false,
    proxySpans: () => undefined,
    shutdown: () => Promise.resolve(),
  };
}

/**
 * Starts OpenTelemetry tracing from the standard OTEL_* variables. With no OTLP endpoint set, or
 * OTEL_SDK_DISABLED=true, nothing is exported and nothing more is loaded (noTracing). Only traces
 * are set up: metrics are Prometheus's job here, logs go to stdout.
 */
export async function createTracing(opts: TracingOptions): Promise<Tracing> {
  const { env } = opts;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const disabled =
    (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true' ||
    (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none';
  if (!endpoint || disabled) return noTracing(opts.version);
  const { startExport } = await import('./export.js');
  return startExport(opts, endpoint, TRACER_NAME);
}
