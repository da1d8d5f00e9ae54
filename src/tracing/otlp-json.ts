import { randomUUID } from 'node:crypto';
import {
  JsonTraceSerializer,
  type IExportTraceServiceResponse,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { msToHrTime, ProxySpan, type ProxySpanShared } from './proxy-spans.js';

/*
 * OTLP/JSON for batches of proxy spans, written by template.
 *
 * The library's JsonTraceSerializer builds an object per span, per attribute and per value, then
 * JSON.stringify makes one string of the whole batch and TextEncoder encodes it: about 6 µs a span
 * here. A ProxySpan has a fixed shape, so its JSON is a handful of string concatenations, turned
 * into bytes span by span (under 1 µs a span). The output is the same document the
 * library writes (test/unit/otlp-json.test.ts compares them); the resource and scope part is
 * produced by the library itself, once per process. A batch holding any other kind of span goes
 * to the library's serializer unchanged.
 */

interface Frame {
  /** `{"resourceSpans":[{"resource":…,"scopeSpans":[{"scope":…,"spans":[` */
  head: string;
  /** `]…}]…}]}` */
  tail: string;
  /** The attributes every span has after method and route. */
  server: string;
}

const frames = new WeakMap<ProxySpanShared, Frame>();
const decoder = new TextDecoder();

interface ResourceSpansJson {
  scopeSpans: { spans: unknown }[];
}

function frameFor(span: ProxySpan): Frame {
  let frame = frames.get(span.shared);
  if (frame) return frame;
  // Let the library encode the resource and scope (attributes of any type, schema URLs), with the
  // span list replaced by a marker that cannot occur in them.
  const doc = JSON.parse(decoder.decode(JsonTraceSerializer.serializeRequest([span]))) as {
    resourceSpans: ResourceSpansJson[];
  };
  const marker = `\u0000spans-${randomUUID()}`;
  doc.resourceSpans[0]!.scopeSpans[0]!.spans = marker;
  const [head, tail] = JSON.stringify(doc).split(JSON.stringify(marker)) as [string, string];
  frame = {
    head: head + '[',
    tail: ']' + tail,
    server:
      `{"key":"server.address","value":{"stringValue":${JSON.stringify(span.shared.serverAddress)}}},` +
      `{"key":"server.port","value":{"intValue":${span.shared.serverPort}}}`,
  };
  frames.set(span.shared, frame);
  return frame;
}

/** Epoch milliseconds as the decimal string of nanoseconds OTLP/JSON uses. */
function nanos(ms: number): string {
  const [s, ns] = msToHrTime(ms);
  return s === 0 ? String(ns) : s + String(ns).padStart(9, '0');
}

function stringAttr(key: string, value: string): string {
  return `,{"key":"${key}","value":{"stringValue":${JSON.stringify(value)}}}`;
}

function encodeSpan(s: ProxySpan, server: string): string {
  let attrs =
    `{"key":"http.request.method","value":{"stringValue":"${s.method}"}},` +
    `{"key":"url.template","value":{"stringValue":${JSON.stringify(s.route)}}},` +
    server;
  if (s.statusCode)
    attrs += `,{"key":"http.response.status_code","value":{"intValue":${s.statusCode}}}`;
  if (s.resendCount)
    attrs += `,{"key":"http.request.resend_count","value":{"intValue":${s.resendCount}}}`;
  if (s.requestId !== undefined) attrs += stringAttr('nylas.request_id', s.requestId);
  if (s.errorType !== undefined) attrs += stringAttr('error.type', s.errorType);
  if (s.nylasErrorType !== undefined) attrs += stringAttr('nylas.error_type', s.nylasErrorType);
  const traceState = s.traceState?.serialize();
  return (
    `{"traceId":"${s.traceId}","spanId":"${s.spanId}"` +
    (s.parentSpanId === undefined ? '' : `,"parentSpanId":"${s.parentSpanId}"`) +
    (traceState === undefined ? '' : `,"traceState":${JSON.stringify(traceState)}`) +
    `,"name":${JSON.stringify(s.name)},"kind":3` +
    `,"startTimeUnixNano":"${nanos(s.startWallMs)}","endTimeUnixNano":"${nanos(s.endWallMs)}"` +
    `,"attributes":[${attrs}],"droppedAttributesCount":0,"events":[],"droppedEventsCount":0` +
    `,"status":{"code":${s.errorType === undefined ? 0 : 2}},"links":[],"droppedLinksCount":0` +
    // W3C flags (sampled) | has-is-remote | is-remote
    `,"flags":${s.parentRemote ? 0x301 : 0x101}}`
  );
}

/** True when `spans` can be written by template: all proxy spans of one process. */
function templatable(spans: readonly ReadableSpan[]): spans is ProxySpan[] {
  const first = spans[0];
  if (!(first instanceof ProxySpan)) return false;
  for (const s of spans) if (!(s instanceof ProxySpan) || s.shared !== first.shared) return false;
  return true;
}

/**
 * Writes one batch's OTLP/JSON request span by span, so that it can be written a few spans at a
 * time (see encodeProxySpansInSteps).
 */
class BatchWriter {
  private readonly frame: Frame;
  private buf: Buffer;
  private off: number;
  private next = 0;

  constructor(private readonly spans: ProxySpan[]) {
    this.frame = frameFor(spans[0]!);
    // Each span's JSON is written straight into one buffer (a native UTF-8 write per span).
    // Building the document as one string first, as JSON.stringify does, cost several times more
    // here: a string of hundreds of kilobytes lands in V8's large-object space and is encoded
    // whole; and a Buffer per span then a concat doubled the copying.
    const { head, tail } = this.frame;
    this.buf = Buffer.allocUnsafe(head.length * 3 + spans.length * 1024 + tail.length * 3);
    this.off = this.buf.write(head, 0, 'utf8');
  }

  /** Writes up to `count` more spans; true when all are written. */
  write(count: number): boolean {
    const { spans, frame } = this;
    const end = Math.min(spans.length, this.next + count);
    for (let i = this.next; i < end; i++) {
      const json = (i > 0 ? ',' : '') + encodeSpan(spans[i]!, frame.server);
      // 3 bytes per UTF-16 unit is the most UTF-8 can take; grow before a write could truncate.
      if (this.off + json.length * 3 + frame.tail.length * 3 > this.buf.length) {
        const bigger = Buffer.allocUnsafe(
          Math.max(this.buf.length * 2, this.off + (json.length + frame.tail.length) * 3),
        );
        this.buf.copy(bigger, 0, 0, this.off);
        this.buf = bigger;
      }
      this.off += this.buf.write(json, this.off, 'utf8');
    }
    this.next = end;
    return end === spans.length;
  }

  finish(): Uint8Array {
    this.write(this.spans.length);
    const off = this.off + this.buf.write(this.frame.tail, this.off, 'utf8');
    return this.buf.subarray(0, off);
  }
}

/** The OTLP/JSON request for `spans`, by template when they are all proxy spans of one process. */
export function serializeProxySpans(spans: ReadableSpan[]): Uint8Array | undefined {
  const pre = encoded.get(spans);
  if (pre) {
    encoded.delete(spans);
    return pre;
  }
  if (!templatable(spans)) return JsonTraceSerializer.serializeRequest(spans);
  return new BatchWriter(spans).finish();
}

/** Batches encoded ahead by encodeProxySpansInSteps, for serializeProxySpans to hand over. */
const encoded = new WeakMap<ReadableSpan[], Uint8Array>();

/** Spans written per step: about 0.2 ms of work, where a whole batch of 512 took 2. */
const SPANS_PER_STEP = 64;

/**
 * Encodes `spans` a few at a time, then calls `done`; serializeProxySpans(spans) then returns the
 * bytes without encoding again. Encoding a default batch of 512 spans in one go held the event
 * loop for about 2 ms twice a second at 1,000 requests/s, and every request arriving meanwhile
 * waited for it. Steps are a timer apart, not an immediate: between immediates the process never
 * sleeps, so a process sharing the core (the app, or the benchmark's upstream) still waited for
 * the whole batch. A batch that is not all proxy spans is left to the library's serializer.
 */
export function encodeProxySpansInSteps(spans: ReadableSpan[], done: () => void): void {
  if (!templatable(spans) || spans.length <= SPANS_PER_STEP) {
    done();
    return;
  }
  const writer = new BatchWriter(spans);
  const step = () => {
    if (!writer.write(SPANS_PER_STEP)) {
      setTimeout(step, 1);
      return;
    }
    encoded.set(spans, writer.finish());
    done();
  };
  step();
}

export const proxySpanJsonSerializer: ISerializer<ReadableSpan[], IExportTraceServiceResponse> = {
  serializeRequest: serializeProxySpans,
  deserializeResponse: (data) => JsonTraceSerializer.deserializeResponse(data),
};
