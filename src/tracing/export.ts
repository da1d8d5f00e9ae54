// OpenTelemetry span export over OTLP/HTTP: the trace SDK's provider for the SDK's spans, the
// proxy's own batcher for the proxy's, one exporter configuration for both.
import { trace } from '@opentelemetry/api';
import {
  OTLPExporterBase,
  createOtlpNetworkExportDelegate,
  type IOtlpExportDelegate,
} from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
  createOtlpHttpExporterMetrics,
} from '@opentelemetry/otlp-exporter-base/node-http';
import { JsonTraceSerializer, ProtobufTraceSerializer } from './serializers.js';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  TraceIdRatioBasedSampler,
  type BufferConfig,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import {
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { createProxySpans } from './proxy-spans.js';
import { ProxySpanJsonWriter } from './otlp-json.js';
import { ProxySpanProtoWriter } from './otlp-proto.js';
import {
  ProxySpanBatcher,
  type BatchExporter,
  type EncodedBatch,
  type SpanLoss,
} from './span-batcher.js';
import type { Logger } from '../log/index.js';
import { redactCredentials } from '../util/redact.js';
import { RetryingTransport, UndiciOtlpTransport } from './otlp-transport.js';
import type { Tracing, TracingOptions } from './setup.js';

/**
 * How an OTLP/HTTP exporter sends: the library's configuration (OTEL_EXPORTER_OTLP_* and
 * OTEL_EXPORTER_OTLP_TRACES_*: endpoint, headers, compression, timeout), its export delegate
 * (concurrency, timeout, result) and retry policy; to an http: endpoint over undici
 * (./otlp-transport.ts says why), to an https: one over the library's own transport, which
 * applies the certificate settings.
 */
function exportDelegate<T>(
  json: boolean,
  version: string,
  serializeRequest: (request: T) => Uint8Array | undefined,
  countItems: (request: T) => number,
): IOtlpExportDelegate<T> {
  const config = convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', {
    'Content-Type': json ? 'application/json' : 'application/x-protobuf',
  });
  const response = json ? JsonTraceSerializer : ProtobufTraceSerializer;
  const serializer = {
    serializeRequest,
    deserializeResponse: (data: Uint8Array) => response.deserializeResponse(data),
  };
  const helper = { name: 'span' as const, countItems };
  let plainHttp = false;
  try {
    plainHttp = new URL(config.url).protocol === 'http:';
  } catch {
    /* the library's transport reports it */
  }
  if (!plainHttp)
    return createOtlpHttpExportDelegate(
      config,
      serializer,
      'otlp_http_span_exporter',
      helper,
      undefined,
    );
  return createOtlpNetworkExportDelegate(
    config,
    serializer,
    createOtlpHttpExporterMetrics('otlp_http_span_exporter', helper, config.url, undefined),
    new RetryingTransport(
      new UndiciOtlpTransport({
        url: config.url,
        headers: config.headers,
        compression: config.compression,
        userAgent: `nylas-sidecar/${version} (OTLP/HTTP exporter on undici)`,
      }),
    ),
  );
}

/** OTLP/HTTP requests the proxy's batcher wrote (JSON or protobuf). */
class EncodedBatchExporter extends OTLPExporterBase<EncodedBatch> implements BatchExporter {
  constructor(json: boolean, version: string) {
    super(
      exportDelegate(
        json,
        version,
        (batch: EncodedBatch) => batch.bytes,
        (batch: EncodedBatch) => batch.count,
      ),
    );
  }
}

/** The SDK's spans (every span but the proxy's), as the library's OTLPTraceExporter sends them. */
class SpanExporter extends OTLPExporterBase<ReadableSpan[]> {
  constructor(json: boolean, version: string) {
    const serializer = json ? JsonTraceSerializer : ProtobufTraceSerializer;
    super(
      exportDelegate(
        json,
        version,
        (spans: ReadableSpan[]) => serializer.serializeRequest(spans),
        (spans: ReadableSpan[]) => spans.length,
      ),
    );
  }
}

/** How often a continuing span export problem is logged again (with the count since). */
const LOSS_LOG_INTERVAL_MS = 60_000;

/** Logs lost spans: the first at once, then at most once a minute with what was lost since. */
function lossLogger(logger: Logger | undefined): (loss: SpanLoss) => void {
  if (!logger) return () => undefined;
  let last = -Infinity;
  const pending = { span_export_failed: 0, span_export_dropped: 0 };
  let lastError = '';
  return (loss) => {
    pending[loss.event] += loss.spans;
    if (loss.event === 'span_export_failed') lastError = loss.error;
    const now = Date.now();
    if (now - last < LOSS_LOG_INTERVAL_MS) return;
    last = now;
    for (const event of ['span_export_failed', 'span_export_dropped'] as const) {
      const spans = pending[event];
      if (spans === 0) continue;
      pending[event] = 0;
      logger.warn(
        event === 'span_export_failed'
          ? { event, spans, error: redactCredentials(lastError) }
          : { event, spans },
        event === 'span_export_failed'
          ? `${spans} proxy spans were not exported: the OTLP receiver did not take them`
          : `${spans} proxy spans were dropped: more than OTEL_BSP_MAX_QUEUE_SIZE waited for export`,
      );
    }
  };
}

/**
 * The sampler OTEL_TRACES_SAMPLER names, as the SDK reads it; undefined for the default,
 * parentbased_always_on (and for a name the SDK does not know, which it also replaces by the
 * default).
 */
export function samplerFromEnv(env: TracingOptions['env']): Sampler | undefined {
  const ratio = () => {
    const r = Number(env.OTEL_TRACES_SAMPLER_ARG);
    return env.OTEL_TRACES_SAMPLER_ARG !== undefined && r >= 0 && r <= 1 ? r : 1;
  };
  switch ((env.OTEL_TRACES_SAMPLER ?? '').trim()) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      return undefined;
  }
}

function bufferConfigFromEnv(env: TracingOptions['env']): BufferConfig {
  const n = (name: string) => {
    const v = env[name] === undefined ? NaN : Number(env[name]);
    return Number.isFinite(v) && v >= 0 ? v : undefined;
  };
  return {
    maxExportBatchSize: n('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
    maxQueueSize: n('OTEL_BSP_MAX_QUEUE_SIZE'),
    scheduledDelayMillis: n('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: n('OTEL_BSP_EXPORT_TIMEOUT'),
  };
}

/**
 * Span export, loaded by createTracing (./setup.ts) only when an OTLP endpoint is set: a sidecar
 * that exports nothing never loads the trace SDK, the OTLP exporter or its serializers.
 */
export function startExport(
  { env, version, logger }: TracingOptions,
  endpoint: string,
  tracerName: string,
): Tracing {
  // OTLP/HTTP with protobuf unless http/json is asked for: the OpenTelemetry specification's
  // default (and the Node SDK's), which every OTLP/HTTP receiver takes. The proxy's spans cost
  // the same CPU either way (docs/span-export.md); protobuf is 40 % of JSON's bytes.
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    'http/protobuf'
  ).trim();
  const json = protocol === 'http/json';
  if (protocol !== 'http/json' && protocol !== 'http/protobuf')
    logger?.warn(
      { event: 'otlp_protocol_unsupported', protocol: redactCredentials(protocol) },
      `OTEL_EXPORTER_OTLP_PROTOCOL=${redactCredentials(protocol)} is not supported: spans are sent as http/protobuf (http/json is the other choice)`,
    );
  // The resource the Node SDK builds (service name and version, then the env, process and host
  // detectors, then OTEL_SERVICE_NAME), built here so the proxy's spans carry the same one.
  const serviceName = env.OTEL_SERVICE_NAME ?? 'nylas-sidecar';
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: serviceName,
    [ATTR_SERVICE_VERSION]: version,
  })
    .merge(detectResources({ detectors: [envDetector, processDetector, hostDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }));
  const sampler = samplerFromEnv(env);
  const bufferConfig = bufferConfigFromEnv(env);
  // The trace SDK's provider alone, registered as the API's global one: the Node SDK package
  // would also bring the metrics and logs SDKs, every exporter and the instrumentation loader
  // (about 28 MB), none of which the sidecar uses. No context manager either: spans get their
  // parent explicitly (the app's traceparent, the request span for retries); the
  // AsyncLocalStorage one turns on async_hooks, about a tenth of the proxy's CPU in profiles.
  const provider = new BasicTracerProvider({
    resource,
    sampler: sampler ?? new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself.
    spanProcessors: [new BatchSpanProcessor(new SpanExporter(json, version), bufferConfig)],
  });
  trace.setGlobalTracerProvider(provider);
  // The proxy's spans have a batch processor and exporter of their own (see ./proxy-spans.ts),
  // which writes each span into its request as it ends (./span-batcher.ts).
  const proxyProcessor = new ProxySpanBatcher({
    exporter: new EncodedBatchExporter(json, version),
    writer: json
      ? (n, reuse) => new ProxySpanJsonWriter(n, reuse)
      : (n, reuse) => new ProxySpanProtoWriter(n, reuse),
    ...bufferConfig,
    onLoss: lossLogger(logger),
  });
  const scope = { name: tracerName, version };
  let stopped: Promise<void> | undefined;
  // Where the exporter sends them: a signal endpoint as it is, the general one with /v1/traces.
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  return {
    tracer: trace.getTracer(tracerName, version),
    exporting: true,
    exportTo: { url, protocol: json ? 'http/json' : 'http/protobuf' },
    proxySpans: (server) =>
      createProxySpans(
        { serverAddress: server.address, serverPort: server.port, resource, scope },
        sampler,
        proxyProcessor,
      ),
    shutdown: () =>
      (stopped ??= Promise.all([
        provider.shutdown().catch(() => undefined),
        proxyProcessor.shutdown().catch(() => undefined),
      ]).then(() => undefined)),
  };
}
