import { trace, type Tracer } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/** The tracer the sidecar records spans with, and how to flush it on shutdown. */
export interface Tracing {
  readonly tracer: Tracer;
  /** True when spans are exported somewhere. */
  readonly exporting: boolean;
  /** Flushes pending spans and stops the SDK; safe to call twice. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** The environment holding the standard OTEL_* variables. */
  env: Readonly<Record<string, string | undefined>>;
  version: string;
}

const TRACER_NAME = 'nylas-sidecar';

/**
 * Starts OpenTelemetry tracing from the standard OTEL_* variables. With no OTLP endpoint set, or
 * OTEL_SDK_DISABLED=true, nothing is exported and spans cost next to nothing (the API's no-op
 * tracer). Only traces are set up: metrics are Prometheus's job here, logs go to stdout.
 */
export function createTracing({ env, version }: TracingOptions): Tracing {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const disabled =
    (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true' ||
    (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none';
  if (!endpoint || disabled) {
    return {
      tracer: trace.getTracer(TRACER_NAME, version),
      exporting: false,
      shutdown: () => Promise.resolve(),
    };
  }
  // OTLP/HTTP with JSON unless http/protobuf is asked for: in this process's profile the JSON
  // encoder cost less CPU per span than the protobuf one, and every OTLP/HTTP receiver takes both.
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/json'
  ).trim();
  const json = protocol !== 'http/protobuf';
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? 'nylas-sidecar',
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? 'nylas-sidecar',
      [ATTR_SERVICE_VERSION]: version,
    }),
    // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself.
    spanProcessors: [
      new BatchSpanProcessor(json ? new OTLPJsonExporter() : new OTLPProtoExporter()),
    ],
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
    // No context manager: spans get their parent explicitly (the app's traceparent, the
    // request span for retries). The default AsyncLocalStorage manager turns on async_hooks,
    // which cost about a tenth of the proxy's CPU in profiles.
    contextManager: null as never,
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    tracer: trace.getTracer(TRACER_NAME, version),
    exporting: true,
    shutdown: () => (stopped ??= sdk.shutdown().catch(() => undefined)),
  };
}
