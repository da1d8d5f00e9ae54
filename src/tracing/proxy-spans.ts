import { randomFillSync } from 'node:crypto';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type HrTime,
  type SpanContext,
  type TraceState,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { SamplingDecision, type ReadableSpan, type Sampler } from '@opentelemetry/sdk-trace-base';

/*
 * The proxy's spans, recorded without the OTel SDK's Span class.
 *
 * Profiled at saturation (`--cpu-prof`), the SDK's span cost about a quarter of the sidecar's CPU
 * per proxied request, as much as undici's whole dispatch: attribute maps, a context per span,
 * `end()` bookkeeping, and then the generic OTLP transform and JSON.stringify of every span. A
 * proxied request's span has a fixed shape (the attributes below, nothing else), so it is kept as
 * plain fields and written into its export request as it ends, as OTLP/JSON or OTLP/protobuf
 * (./otlp-json.ts, ./otlp-proto.ts, ./span-batcher.ts). Everything around it stays the SDK's: the sampler from OTEL_TRACES_SAMPLER,
 * the W3C propagator, the OTEL_BSP_* batching limits and the OTLP exporter's transport (endpoint,
 * headers, retries, timeout).
 * ProxySpan is also a complete ReadableSpan, built lazily, so the library's serializers take it as
 * it is: the writers' tests compare their bytes with the library's for the same spans, and the
 * protobuf writer has the library encode the resource and scope.
 */

/** What every proxy span shares: filled once per process. */
export interface ProxySpanShared {
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
}

const NO_EVENTS: [] = [];
const NO_LINKS: [] = [];
const SAMPLED = 1;

/** A finished or running span of one proxied request (or of one retried attempt). */
export class ProxySpan implements ReadableSpan {
  /** Fixed at start. */
  readonly traceId: string;
  readonly spanId: string;
  /**
   * The ids' bytes where nextId cut them (see idBytes): the span id's always, the trace id's
   * when this process made it (undefined when it came from the app's traceparent). The protobuf
   * writer copies them instead of decoding the hex.
   */
  readonly idBytes: Buffer;
  readonly spanIdAt: number;
  readonly traceIdBytes: Buffer | undefined;
  readonly traceIdAt: number;
  readonly parentSpanId: string | undefined;
  readonly parentRemote: boolean;
  readonly traceState: TraceState | undefined;
  readonly name: string;
  readonly method: string;
  readonly route: string;
  /** Epoch milliseconds at start (wall clock), and the monotonic clock at start and end. */
  readonly startWallMs: number;
  readonly perfStart: number;
  perfEnd = -1;
  /** Filled as the request goes (0 / undefined = not set). */
  statusCode = 0;
  resendCount = 0;
  requestId: string | undefined = undefined;
  /** `error.type`: the status code as a string when the app got one, else the error type. */
  errorType: string | undefined = undefined;
  /** `nylas.error_type`; set for the request span only. */
  nylasErrorType: string | undefined = undefined;

  constructor(
    readonly shared: ProxySpanShared,
    traceId: string,
    parentSpanId: string | undefined,
    parentRemote: boolean,
    traceState: TraceState | undefined,
    name: string,
    method: string,
    route: string,
    perfStart: number,
    startWallMs: number,
    traceIdBytes?: Buffer,
    traceIdAt = 0,
  ) {
    this.traceId = traceId;
    this.traceIdBytes = traceIdBytes;
    this.traceIdAt = traceIdAt;
    this.spanId = nextId(8);
    this.idBytes = pool;
    this.spanIdAt = lastIdAt(8);
    this.parentSpanId = parentSpanId;
    this.parentRemote = parentRemote;
    this.traceState = traceState;
    this.name = name;
    this.method = method;
    this.route = route;
    this.perfStart = perfStart;
    this.startWallMs = startWallMs;
  }

  get endWallMs(): number {
    return this.startWallMs + (this.perfEnd - this.perfStart);
  }

  // ReadableSpan, on the prototype and read by the library's serializers only (the writers in
  // ./otlp-json.ts and ./otlp-proto.ts read the fields): a span is allocated with its own fields
  // and nothing else.
  get kind(): SpanKind {
    return SpanKind.CLIENT;
  }
  spanContext(): SpanContext {
    return {
      traceId: this.traceId,
      spanId: this.spanId,
      traceFlags: SAMPLED,
      traceState: this.traceState,
    };
  }
  get parentSpanContext(): SpanContext | undefined {
    return this.parentSpanId === undefined
      ? undefined
      : {
          traceId: this.traceId,
          spanId: this.parentSpanId,
          traceFlags: SAMPLED,
          isRemote: this.parentRemote,
        };
  }
  get startTime(): HrTime {
    return msToHrTime(this.startWallMs);
  }
  get endTime(): HrTime {
    return msToHrTime(this.endWallMs);
  }
  get duration(): HrTime {
    return msToHrTime(this.perfEnd - this.perfStart);
  }
  get ended(): boolean {
    return this.perfEnd >= 0;
  }
  get status() {
    return { code: this.errorType === undefined ? SpanStatusCode.UNSET : SpanStatusCode.ERROR };
  }
  /** In the order ./otlp-json.ts writes them. */
  get attributes(): Attributes {
    const a: Attributes = {
      'http.request.method': this.method,
      'url.template': this.route,
      'server.address': this.shared.serverAddress,
      'server.port': this.shared.serverPort,
    };
    if (this.statusCode) a['http.response.status_code'] = this.statusCode;
    if (this.resendCount) a['http.request.resend_count'] = this.resendCount;
    if (this.requestId !== undefined) a['nylas.request_id'] = this.requestId;
    if (this.errorType !== undefined) a['error.type'] = this.errorType;
    if (this.nylasErrorType !== undefined) a['nylas.error_type'] = this.nylasErrorType;
    return a;
  }
  get links() {
    return NO_LINKS;
  }
  get events() {
    return NO_EVENTS;
  }
  get resource(): Resource {
    return this.shared.resource;
  }
  get instrumentationScope(): InstrumentationScope {
    return this.shared.scope;
  }
  get droppedAttributesCount(): number {
    return 0;
  }
  get droppedEventsCount(): number {
    return 0;
  }
  get droppedLinksCount(): number {
    return 0;
  }
}

/** Epoch (or duration) milliseconds as [seconds, nanoseconds]. */
export function msToHrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  const ns = Math.round((ms - s * 1000) * 1e6);
  return ns >= 1e9 ? [s + 1, ns - 1e9] : [s, ns];
}

// Random ids cut from a pooled hex string: one randomFillSync and one hex conversion per ~40
// spans instead of a Buffer-to-hex call per id (which showed in profiles; with a pool of 256
// bytes, refilling it every ~10 spans still took about 1 % of the proxy's thread at saturation).
// The pool stays small because an id is a slice of it and keeps it alive: a latency exemplar can
// hold an id for long, and there is one per bucket and label set (at most 2 KB each, then).
//
// Each pool is a new buffer (1 KB, cut from Node's own buffer pool), not refilled in place, so
// that the bytes of an id stay valid for as long as its span, which keeps the pool and the id's
// offset in it (idBytes) for the protobuf writer to copy.
const POOL_BYTES = 1024;
let pool = Buffer.alloc(0);
let hexPool = '';
let hexOffset = 0;
/**
 * Where the bytes of the id of `bytes` bytes that nextId returned last are in `pool`. Read from
 * the pool's state rather than kept in variables of their own: storing into a module's variables
 * on every id cost a write barrier each time.
 */
const lastIdAt = (bytes: 8 | 16): number => (hexOffset >>> 1) - bytes;
const ZERO_16 = '0'.repeat(16);
const ZERO_32 = '0'.repeat(32);

/** A random lowercase-hex id of `bytes` bytes, never all zeros (an invalid id in W3C terms). */
export function nextId(bytes: 8 | 16): string {
  const chars = bytes * 2;
  for (;;) {
    if (hexOffset + chars > hexPool.length) {
      pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
      hexPool = pool.toString('hex');
      hexOffset = 0;
    }
    const id = hexPool.slice(hexOffset, hexOffset + chars);
    hexOffset += chars;
    // All zeros is the only invalid id; the first character rules it out almost always, without
    // hashing the id for a set lookup.
    if (id.charCodeAt(0) !== 48 || (id !== ZERO_16 && id !== ZERO_32)) return id;
  }
}

/** Starts and ends the proxy's spans; see the comment at the top of this file. */
export interface ProxySpans {
  /**
   * A span for a proxied request that starts now (`perfStart` is performance.now()), continuing
   * `parent` (the app's traceparent, extracted) when given; undefined when the sampler drops it.
   */
  start(
    name: string,
    method: string,
    route: string,
    parent: Context | undefined,
    perfStart: number,
  ): ProxySpan | undefined;
  /** Records a child of `parent` for an attempt that is being retried (and so failed). */
  attempt(
    parent: ProxySpan,
    perfStart: number,
    perfEnd: number,
    outcome: { resendCount: number; statusCode: number; errorType: string },
  ): void;
  /** Ends the span (once) and hands it to the batch processor. */
  end(span: ProxySpan, perfEnd: number): void;
}

const NO_ATTRIBUTES: Attributes = Object.freeze({});

/** `sampler` undefined means the default, parentbased_always_on. */
export function createProxySpans(
  shared: ProxySpanShared,
  sampler: Sampler | undefined,
  processor: { onEnd(span: ProxySpan): void },
): ProxySpans {
  return {
    start(name, method, route, parent, perfStart) {
      const parentContext = parent === undefined ? undefined : trace.getSpanContext(parent);
      let traceId: string;
      let traceIdBytes: Buffer | undefined;
      let traceIdAt = 0;
      if (parentContext !== undefined) traceId = parentContext.traceId;
      else {
        traceId = nextId(16);
        traceIdBytes = pool;
        traceIdAt = lastIdAt(16);
      }
      if (
        sampler === undefined
          ? // The default, parentbased_always_on, decided without a call and a result per span.
            parentContext !== undefined && (parentContext.traceFlags & SAMPLED) === 0
          : // RECORD without SAMPLED would never be exported by the batch processor: skip it.
            sampler.shouldSample(
              parent ?? ROOT_CONTEXT,
              traceId,
              name,
              SpanKind.CLIENT,
              NO_ATTRIBUTES,
              NO_LINKS,
            ).decision !== SamplingDecision.RECORD_AND_SAMPLED
      )
        return undefined;
      return new ProxySpan(
        shared,
        traceId,
        parentContext?.spanId,
        parentContext?.isRemote === true,
        parentContext?.traceState,
        name,
        method,
        route,
        perfStart,
        // Wall clock read per span (as the SDK does), so a long-running process does not drift.
        Date.now(),
        traceIdBytes,
        traceIdAt,
      );
    },
    attempt(parent, perfStart, perfEnd, outcome) {
      const span = new ProxySpan(
        shared,
        parent.traceId,
        parent.spanId,
        false,
        parent.traceState,
        parent.name,
        parent.method,
        parent.route,
        perfStart,
        parent.startWallMs + (perfStart - parent.perfStart),
        parent.traceIdBytes,
        parent.traceIdAt,
      );
      span.perfEnd = perfEnd;
      span.resendCount = outcome.resendCount;
      span.statusCode = outcome.statusCode;
      span.errorType = outcome.errorType;
      // Filled before onEnd: the span is written within it.
      processor.onEnd(span);
    },
    end(span, perfEnd) {
      if (span.perfEnd >= 0) return;
      span.perfEnd = perfEnd;
      processor.onEnd(span);
    },
  };
}
