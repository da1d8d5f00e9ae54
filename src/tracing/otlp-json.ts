import { randomUUID } from 'node:crypto';
import { JsonTraceSerializer } from './serializers.js';
import { msToHrTime, type ProxySpan } from './proxy-spans.js';
import { byNumber, fragmentCache, perProcess, SpanBytes } from './span-bytes.js';

/*
 * OTLP/JSON for the proxy's spans, written span by span into the bytes of the request that will
 * carry them.
 *
 * The library's JsonTraceSerializer builds an object per span, per attribute and per value, then
 * JSON.stringify makes one string of the whole batch and TextEncoder encodes it: about 6 µs a span
 * here. A ProxySpan has a fixed shape: its JSON is fragments that repeat (per route and method,
 * per status code) between a few values that change (ids, times, the request id). The fragments
 * are encoded once and copied; the ids and times, ASCII by construction, are written byte by
 * byte; only text from outside (a request id, an error type, a tracestate) goes through
 * JSON.stringify and a UTF-8 write. Each span is written when it ends (see ./span-batcher.ts), so
 * no span waits in memory for its batch and no batch is encoded in one go on the proxy's thread.
 *
 * The output is the document the library writes, byte for byte (test/unit/proxy-spans.test.ts
 * compares them); the resource and scope part is produced by the library itself, once per
 * process.
 */

/** The request around the spans, and what every span of one process shares. */
interface Frame {
  /** `{"resourceSpans":[{"resource":…,"scopeSpans":[{"scope":…,"spans":[` */
  readonly head: Buffer;
  /** `]…}]…}]}` */
  readonly tail: Buffer;
  /** `,{server.address},{server.port}`: the attributes after method and route. */
  readonly server: string;
}

/** What a span of one method and route repeats. */
interface NameFragments {
  /** The span name these were made for. */
  readonly spanName: string;
  /** `,"name":"GET /v3/…","kind":3,"startTimeUnixNano":"` */
  readonly name: Buffer;
  /** `","attributes":[{method},{route},{server address},{server port}` */
  readonly attributes: Buffer;
}

const decoder = new TextDecoder();

const ascii = (s: string) => Buffer.from(s, 'latin1');
const TRACE_ID = ascii('{"traceId":"');
const SPAN_ID = ascii('","spanId":"');
const PARENT_SPAN_ID = ascii('","parentSpanId":"');
const QUOTE = ascii('"');
const TRACE_STATE = ascii(',"traceState":');
const END_TIME = ascii('","endTimeUnixNano":"');
const COMMA = 0x2c;
/** After the attributes: `],"droppedAttributesCount":0,…,"status":{"code":C},…,"flags":F}`. */
const tailByKey = byNumber((key) =>
  ascii(
    `],"droppedAttributesCount":0,"events":[],"droppedEventsCount":0` +
      `,"status":{"code":${key >>> 12}},"links":[],"droppedLinksCount":0,"flags":${key & 0xfff}}`,
  ),
);
const spanTail = (statusCode: 0 | 2, flags: number) => tailByKey(statusCode * 4096 + flags);
/** `,{"key":"http.response.status_code","value":{"intValue":200}}`, per status code. */
const statusAttr = byNumber((code) =>
  ascii(`,{"key":"http.response.status_code","value":{"intValue":${code}}}`),
);

const frameFor = perProcess((span): Frame => {
  // Let the library encode the resource and scope (attributes of any type, schema URLs), with the
  // span list replaced by a marker that cannot occur in them.
  const doc = JSON.parse(decoder.decode(JsonTraceSerializer.serializeRequest([span]))) as {
    resourceSpans: { scopeSpans: { spans: unknown }[] }[];
  };
  const marker = `\u0000spans-${randomUUID()}`;
  doc.resourceSpans[0]!.scopeSpans[0]!.spans = marker;
  const [head, tail] = JSON.stringify(doc).split(JSON.stringify(marker)) as [string, string];
  return {
    head: Buffer.from(head + '['),
    tail: Buffer.from(']' + tail),
    server:
      `,{"key":"server.address","value":{"stringValue":${JSON.stringify(span.shared.serverAddress)}}}` +
      `,{"key":"server.port","value":{"intValue":${span.shared.serverPort}}}`,
  };
});

const fragmentsFor = fragmentCache((span: ProxySpan, frame: Frame): NameFragments => ({
  spanName: span.name,
  name: Buffer.from(`,"name":${JSON.stringify(span.name)},"kind":3,"startTimeUnixNano":"`),
  attributes: Buffer.from(
    `","attributes":[{"key":"http.request.method","value":{"stringValue":${JSON.stringify(span.method)}}}` +
      `,{"key":"url.template","value":{"stringValue":${JSON.stringify(span.route)}}}` +
      frame.server,
  ),
}));

/** Most bytes a span takes besides its text from outside (request id, error types, tracestate). */
const SPAN_FIXED_MAX = 1024;

/** An export request being written span by span (OTLP/JSON here, OTLP/protobuf in ./otlp-proto.ts). */
export interface SpanWriter {
  /** Spans written so far. */
  readonly count: number;
  /** The buffer the request is written into (whole; finish() returns the written part). */
  readonly buffer: Buffer;
  /** Writes one span. */
  add(span: ProxySpan): void;
  /**
   * The finished request (a view of the writer's buffer); undefined when no span was added. The
   * writer is done with: a new batch takes a new writer.
   */
  finish(): Uint8Array | undefined;
}

/** Makes the writer of a batch of about `expectedSpans`, into `reuse` when given. */
export type SpanWriterFactory = (expectedSpans: number, reuse?: Buffer) => SpanWriter;

/**
 * One OTLP/JSON export request being written: spans are added as they end, then finish() closes
 * the document. The bytes are written once, into a buffer sized for the batch.
 */
export class ProxySpanJsonWriter extends SpanBytes implements SpanWriter {
  private frame: Frame | undefined;

  constructor(expectedSpans: number, reuse?: Buffer) {
    super(4096 + expectedSpans * 800, reuse);
  }

  /** ASCII text (ids, digits): a byte per character. */
  private putAscii(s: string): void {
    const buf = this.buf;
    let off = this.off;
    for (let i = 0; i < s.length; i++) buf[off++] = s.charCodeAt(i);
    this.off = off;
  }

  /**
   * A string from outside, as a JSON string: byte by byte while it is printable ASCII with nothing
   * to escape (request ids are), else JSON.stringify's escaping and a UTF-8 write. The caller
   * ensured room for the longest form (6 bytes a character).
   */
  private putJsonString(s: string): void {
    const buf = this.buf;
    let off = this.off;
    buf[off++] = 0x22; // "
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.off += buf.write(JSON.stringify(s), this.off, 'utf8');
        return;
      }
      buf[off++] = c;
    }
    buf[off++] = 0x22;
    this.off = off;
  }

  /** Epoch milliseconds as the decimal digits of nanoseconds (OTLP/JSON's string of a uint64). */
  private putNanos(ms: number): void {
    const [s, ns] = msToHrTime(ms, HR_TIME);
    const buf = this.buf;
    if (s === 0) {
      this.putAscii(String(ns));
      return;
    }
    this.putAscii(String(s));
    let off = this.off + 9;
    let n = ns;
    for (let i = 0; i < 9; i++) {
      buf[--off] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.off += 9;
  }

  private stringAttr(key: Buffer, value: string): void {
    this.ensure(key.length + value.length * 6 + 8);
    this.put(key);
    this.putJsonString(value);
    this.buf[this.off++] = 0x7d; // }
    this.buf[this.off++] = 0x7d;
  }

  /** Writes one span. */
  add(s: ProxySpan): void {
    let frame = this.frame;
    if (frame === undefined) {
      frame = this.frame = frameFor(s);
      this.ensure(frame.head.length + frame.tail.length);
      this.put(frame.head);
    }
    const f = fragmentsFor(s, frame);
    this.ensure(SPAN_FIXED_MAX + f.name.length + f.attributes.length);
    if (this.count > 0) this.buf[this.off++] = COMMA;
    this.put(TRACE_ID);
    if (s.traceIdBytes !== undefined) this.putHexBytes(s.traceIdBytes, s.traceIdAt, 16);
    else this.putAscii(s.traceId);
    this.put(SPAN_ID);
    this.putHexBytes(s.idBytes, s.spanIdAt, 8);
    if (s.parentSpanId !== undefined) {
      this.put(PARENT_SPAN_ID);
      this.putAscii(s.parentSpanId);
    }
    this.put(QUOTE);
    const traceState = s.traceState?.serialize();
    if (traceState !== undefined) {
      this.ensure(TRACE_STATE.length + traceState.length * 6 + 2 + SPAN_FIXED_MAX);
      this.put(TRACE_STATE);
      this.putJsonString(traceState);
    }
    this.put(f.name);
    this.putNanos(s.startWallMs);
    this.put(END_TIME);
    this.putNanos(s.endWallMs);
    this.put(f.attributes);
    if (s.statusCode) this.put(statusAttr(s.statusCode));
    if (s.resendCount)
      this.putAscii(`,{"key":"http.request.resend_count","value":{"intValue":${s.resendCount}}}`);
    if (s.requestId !== undefined) this.stringAttr(REQUEST_ID_KEY, s.requestId);
    if (s.errorType !== undefined) this.stringAttr(ERROR_TYPE_KEY, s.errorType);
    if (s.nylasErrorType !== undefined) this.stringAttr(NYLAS_ERROR_TYPE_KEY, s.nylasErrorType);
    this.ensure(SPAN_FIXED_MAX);
    this.put(spanTail(s.errorType === undefined ? 0 : 2, s.parentRemote ? 0x301 : 0x101));
    this.count++;
  }

  /**
   * The finished request (a view of the writer's buffer); undefined when no span was added. The
   * writer is done with: a new batch takes a new writer.
   */
  finish(): Uint8Array | undefined {
    if (this.frame === undefined) return undefined;
    this.ensure(this.frame.tail.length);
    this.put(this.frame.tail);
    return this.buf.subarray(0, this.off);
  }
}

/** msToHrTime's answer for putNanos, reused. */
const HR_TIME: [number, number] = [0, 0];

const REQUEST_ID_KEY = ascii(',{"key":"nylas.request_id","value":{"stringValue":');
const ERROR_TYPE_KEY = ascii(',{"key":"error.type","value":{"stringValue":');
const NYLAS_ERROR_TYPE_KEY = ascii(',{"key":"nylas.error_type","value":{"stringValue":');

/** The OTLP/JSON request for `spans` (proxy spans of one process), as the exporter sends it. */
export function serializeProxySpans(spans: readonly ProxySpan[]): Uint8Array | undefined {
  const w = new ProxySpanJsonWriter(spans.length);
  for (const s of spans) w.add(s);
  return w.finish();
}
