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
import type { IncomingHttpHeaders } from 'node:http';
import { W3CTraceContextPropagator, type InstrumentationScope } from '@opentelemetry/core';
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
  /**
   * The ids' bytes where nextIdAt cut them from the id pool: the span id's always, the trace id's
   * when this process made it (undefined when it came from the app's traceparent). The writers
   * copy them (protobuf) or write their hex (JSON); the ids as hex strings (traceId, spanId) are
   * made only when something reads them: an exemplar on a scrape, a log line, the SDK's
   * serializer. Made for every span, they cost about 900 instructions a request (a hex string of
   * the pool, then two slices of it) for a string that is hardly ever read.
   */
  readonly idBytes: Buffer;
  readonly spanIdAt: number;
  readonly traceIdBytes: Buffer | undefined;
  readonly traceIdAt: number;
  /** The ids as hex, once read (the trace id from the start when it came from the app). */
  private traceIdHex: string | undefined;
  private spanIdHex: string | undefined = undefined;
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

  /**
   * `traceId`: the trace id as hex when it is known (it came from the app, and then
   * `traceIdBytes` is undefined; or a sampler read it), else undefined and made when read from
   * `traceIdBytes` at `traceIdAt`.
   */
  constructor(
    readonly shared: ProxySpanShared,
    traceId: string | undefined,
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
    this.traceIdHex = traceId;
    this.traceIdBytes = traceIdBytes;
    this.traceIdAt = traceIdAt;
    this.spanIdAt = nextIdAt(8);
    this.idBytes = pool;
    this.parentSpanId = parentSpanId;
    this.parentRemote = parentRemote;
    this.traceState = traceState;
    this.name = name;
    this.method = method;
    this.route = route;
    this.perfStart = perfStart;
    this.startWallMs = startWallMs;
  }

  /** The trace id, 32 lowercase hex characters. */
  get traceId(): string {
    return (this.traceIdHex ??= this.traceIdBytes!.toString(
      'hex',
      this.traceIdAt,
      this.traceIdAt + 16,
    ));
  }

  /** The span id, 16 lowercase hex characters. */
  get spanId(): string {
    return (this.spanIdHex ??= this.idBytes.toString('hex', this.spanIdAt, this.spanIdAt + 8));
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

/**
 * Epoch (or duration) milliseconds as [seconds, nanoseconds], in a new array or in `into` (the
 * writers pass one of their own, so that writing a span's times allocates nothing).
 */
export function msToHrTime(ms: number, into: HrTime = [0, 0]): HrTime {
  const s = Math.floor(ms / 1000);
  const ns = Math.round((ms - s * 1000) * 1e6);
  if (ns >= 1e9) {
    into[0] = s + 1;
    into[1] = ns - 1e9;
  } else {
    into[0] = s;
    into[1] = ns;
  }
  return into;
}

// Random ids cut from a pool of random bytes: one randomFillSync per ~40 spans instead of one per
// id. A span keeps the pool and its ids' offsets in it; the ids' hex strings are made only when
// read (ProxySpan#traceId, #spanId).
//
// Each pool is a new buffer, not refilled in place, so that the bytes of an id stay valid for as
// long as its span. It is small and has its own memory (allocUnsafeSlow: not a slice of Node's
// 8 KB buffer slab, which it would keep whole) because a span keeps it alive, and a latency
// exemplar holds a span for long, one per bucket and label set: about 1.3 KB each with the span,
// where the hex strings exemplars held before kept a 2 KB string of the pool's hex.
const POOL_BYTES = 1024;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/**
 * Cuts the next random id of `bytes` bytes from the id pool (`pool` afterwards) and answers its
 * offset there. Never all zeros (an invalid id in W3C terms).
 */
function nextIdAt(bytes: 8 | 16): number {
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
      poolOffset = 0;
    }
    const at = poolOffset;
    poolOffset += bytes;
    // The first byte rules out all zeros almost always.
    if (pool[at] !== 0) return at;
    for (let i = at + 1; i < at + bytes; i++) if (pool[i] !== 0) return at;
  }
}

/** A random lowercase-hex id of `bytes` bytes, never all zeros. */
export function nextId(bytes: 8 | 16): string {
  const at = nextIdAt(bytes);
  return pool.toString('hex', at, at + bytes);
}

/** Starts and ends the proxy's spans; see the comment at the top of this file. */
export interface ProxySpans {
  /** The app's trace context from its `traceparent` (and `tracestate`) headers (none if invalid). */
  parentOf(headers: IncomingHttpHeaders): Context;
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

// Here rather than in the proxy: @opentelemetry/core is then loaded only when spans are exported.
const propagator = new W3CTraceContextPropagator();
const headerGetter = {
  get: (carrier: IncomingHttpHeaders, key: string) => carrier[key],
  keys: (carrier: IncomingHttpHeaders) => Object.keys(carrier),
};

/** `sampler` undefined means the default, parentbased_always_on. */
export function createProxySpans(
  shared: ProxySpanShared,
  sampler: Sampler | undefined,
  processor: { onEnd(span: ProxySpan): void },
): ProxySpans {
  return {
    parentOf: (headers) => propagator.extract(ROOT_CONTEXT, headers, headerGetter),
    start(name, method, route, parent, perfStart) {
      const parentContext = parent === undefined ? undefined : trace.getSpanContext(parent);
      let traceId: string | undefined;
      let traceIdBytes: Buffer | undefined;
      let traceIdAt = 0;
      if (parentContext !== undefined) traceId = parentContext.traceId;
      else {
        traceIdAt = nextIdAt(16);
        traceIdBytes = pool;
      }
      if (
        sampler === undefined
          ? // The default, parentbased_always_on, decided without a call and a result per span.
            parentContext !== undefined && (parentContext.traceFlags & SAMPLED) === 0
          : // RECORD without SAMPLED would never be exported by the batch processor: skip it.
            sampler.shouldSample(
              parent ?? ROOT_CONTEXT,
              // A configured sampler reads the trace id's hex: made here, and kept by the span.
              (traceId ??= traceIdBytes!.toString('hex', traceIdAt, traceIdAt + 16)),
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
        parent.traceIdBytes === undefined ? parent.traceId : undefined,
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
