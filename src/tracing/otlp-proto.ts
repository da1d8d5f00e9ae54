import { ProtobufTraceSerializer } from './serializers.js';
import { msToHrTime, type ProxySpan } from './proxy-spans.js';
import type { SpanWriter } from './otlp-json.js';
import { byNumber, fragmentCache, perProcess, SpanBytes } from './span-bytes.js';

/*
 * OTLP/protobuf for the proxy's spans, written span by span into the bytes of the request that
 * will carry them: the protobuf twin of ./otlp-json.ts, with the same design (fragments that
 * repeat per route and method or per status code are encoded once and copied; ids, times and
 * text from outside are written in place).
 *
 * Protobuf is the cheaper of the two here: ids are 24 raw bytes instead of 48 hex characters,
 * times are 8 bytes instead of 19 digits, and a span is about 40 % of its JSON size, so the
 * loopback write, the receiver and the collector downstream all have less to do.
 *
 * The output is the library's ProtobufTraceSerializer's, byte for byte
 * (test/unit/proxy-spans.test.ts compares them). The resource and scope are encoded by the
 * library, once per process: the fields around the span list are cut out of its encoding of one
 * span. Lengths of the enclosing messages are only known when the batch is finished, so the
 * request's head is written then, into room kept before the first span.
 */

/** The fields around the span list, as the library encodes them. */
interface Frame {
  /** ResourceSpans' fields before its scope_spans (the resource). */
  readonly resourceHead: Buffer;
  /** ResourceSpans' fields after its scope_spans (a schema URL). */
  readonly resourceTail: Buffer;
  /** ScopeSpans' fields before its spans (the scope). */
  readonly scopeHead: Buffer;
  /** ScopeSpans' fields after its spans (a schema URL). */
  readonly scopeTail: Buffer;
  /** Room for the head: both heads, three tags and three lengths of up to 5 bytes. */
  readonly reserve: number;
  /** server.address and server.port, as KeyValue fields of a span. */
  readonly server: Buffer;
}

/** What a span of one method and route repeats. */
interface NameFragments {
  readonly spanName: string;
  /** name (5) and kind (6), then the tag of start_time_unix_nano (7). */
  readonly name: Buffer;
  /** method, route, server address and port: KeyValue fields (9). */
  readonly attributes: Buffer;
  /** The attributes followed by http.response.status_code, by status code: one copy a span. */
  readonly withStatus: Map<number, Buffer>;
  /** The last status code asked for and its bytes: a route answers mostly one. */
  lastCode: number;
  lastWithStatus: Buffer | undefined;
}

/** Reads a varint at `at`; returns the value and the offset after it. */
function readVarint(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const c = b[at++]!;
    v += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) return [v, at];
    shift += 7;
  }
}

/** The fields of a message, as raw byte ranges with their field numbers (length-delimited only). */
function fields(
  b: Uint8Array,
  from: number,
  to: number,
): { field: number; start: number; end: number; body: number }[] {
  const out: { field: number; start: number; end: number; body: number }[] = [];
  let at = from;
  while (at < to) {
    const start = at;
    const [tag, afterTag] = readVarint(b, at);
    if ((tag & 7) !== 2) throw new Error('unexpected wire type in the OTLP frame');
    const [len, body] = readVarint(b, afterTag);
    at = body + len;
    out.push({ field: tag >>> 3, start, end: at, body });
  }
  return out;
}

function varintLength(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function putVarint(b: Buffer, at: number, v: number): number {
  while (v > 0x7f) {
    b[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[at++] = v;
  return at;
}

/** A length-delimited field: tag, length, bytes. */
function lenField(field: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(2 + 5);
  const n = putVarint(head, putVarint(head, 0, (field << 3) | 2), body.length);
  return Buffer.concat([head.subarray(0, n), body]);
}

const str = (s: string) => Buffer.from(s, 'utf8');
/** KeyValue with a string value, as attribute field 9 of a span. */
const stringKeyValue = (key: string, value: string) =>
  lenField(9, Buffer.concat([lenField(1, str(key)), lenField(2, lenField(1, str(value)))]));
/** KeyValue with an int value (non-negative, as the proxy's are), as attribute field 9. */
function intKeyValue(key: string, value: number): Buffer {
  const v = Buffer.allocUnsafe(1 + 10);
  v[0] = 0x18; // AnyValue.int_value (3), varint
  const n = putVarint(v, 1, value);
  return lenField(9, Buffer.concat([lenField(1, str(key)), lenField(2, v.subarray(0, n))]));
}

const frameFor = perProcess((span): Frame => {
  const bytes = Buffer.from(ProtobufTraceSerializer.serializeRequest([span])!);
  const [resourceSpans] = fields(bytes, 0, bytes.length);
  const rs = fields(bytes, resourceSpans!.body, resourceSpans!.end);
  const scopeSpans = rs.find((f) => f.field === 2)!;
  const ss = fields(bytes, scopeSpans.body, scopeSpans.end);
  const cut = (list: typeof rs, keep: (field: number) => boolean) =>
    Buffer.concat(list.filter((f) => keep(f.field)).map((f) => bytes.subarray(f.start, f.end)));
  const resourceHead = cut(rs, (f) => f < 2);
  const scopeHead = cut(ss, (f) => f < 2);
  return {
    resourceHead,
    resourceTail: cut(rs, (f) => f > 2),
    scopeHead,
    scopeTail: cut(ss, (f) => f > 2),
    reserve: resourceHead.length + scopeHead.length + 3 * 6,
    server: Buffer.concat([
      stringKeyValue('server.address', span.shared.serverAddress),
      intKeyValue('server.port', span.shared.serverPort),
    ]),
  };
});

const fragmentsFor = fragmentCache((span: ProxySpan, frame: Frame): NameFragments => ({
  spanName: span.name,
  // kind CLIENT is 3 on the wire (the API's 2, plus one); then start_time's tag (7, fixed64).
  name: Buffer.concat([lenField(5, str(span.name)), Buffer.from([0x30, 3, 0x39])]),
  attributes: Buffer.concat([
    stringKeyValue('http.request.method', span.method),
    stringKeyValue('url.template', span.route),
    frame.server,
  ]),
  withStatus: new Map<number, Buffer>(),
  lastCode: 0,
  lastWithStatus: undefined,
}));

/** http.response.status_code as a KeyValue field, per status code. */
const statusAttr = byNumber((code) => intKeyValue('http.response.status_code', code));

/** A route's attributes with the status code's after them, made once per route and code. */
function attributesWithStatus(f: NameFragments, code: number): Buffer {
  if (code === f.lastCode && f.lastWithStatus !== undefined) return f.lastWithStatus;
  let b = f.withStatus.get(code);
  if (b === undefined) {
    b = Buffer.concat([f.attributes, statusAttr(code)]);
    // Status codes are three digits: at most 900 a route and method.
    if (code >= 100 && code <= 999) f.withStatus.set(code, b);
  }
  f.lastCode = code;
  f.lastWithStatus = b;
  return b;
}

/** msToHrTime's answer for putNanos, reused. */
const HR_TIME: [number, number] = [0, 0];

/** The bytes after a span's attributes (see add()). */
const SPAN_TAIL_BYTES = 16;

/** Epoch milliseconds as fixed64 nanoseconds at `off`, exactly as the library computes them. */
function putNanos(buf: Buffer, off: number, ms: number): number {
  const [seconds, nanos] = msToHrTime(ms, HR_TIME);
  const low16 = (seconds & 0xffff) * 1e9;
  const high = ((seconds / 0x10000) >>> 0) * 1e9;
  const lowWithCarry = (low16 >>> 0) + (((high & 0xffff) * 0x10000) >>> 0) + nanos;
  const lo = lowWithCarry >>> 0;
  const hi =
    (Math.floor(low16 / 0x100000000) +
      ((high / 0x10000) >>> 0) +
      Math.floor(lowWithCarry / 0x100000000)) >>>
    0;
  buf[off] = lo & 0xff;
  buf[off + 1] = (lo >>> 8) & 0xff;
  buf[off + 2] = (lo >>> 16) & 0xff;
  buf[off + 3] = lo >>> 24;
  buf[off + 4] = hi & 0xff;
  buf[off + 5] = (hi >>> 8) & 0xff;
  buf[off + 6] = (hi >>> 16) & 0xff;
  buf[off + 7] = hi >>> 24;
  return off + 8;
}

const REQUEST_ID_KEY = str('nylas.request_id');
const ERROR_TYPE_KEY = str('error.type');
const NYLAS_ERROR_TYPE_KEY = str('nylas.error_type');
const RESEND_COUNT_KEY = 'http.request.resend_count';

/** Hex digit values by character code (-1: not a hex digit). */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** Values of at most this many characters are written by stringAttr's short path. */
const SHORT_VALUE = 64;

/** Most bytes a span takes besides its text from outside (request id, error types, tracestate). */
const SPAN_FIXED_MAX = 512;

/**
 * One OTLP/protobuf export request being written: spans are added as they end, then finish()
 * writes the head and closes the request. The bytes are written once, into a buffer sized for
 * the batch.
 */
export class ProxySpanProtoWriter extends SpanBytes implements SpanWriter {
  private frame: Frame | undefined;

  constructor(expectedSpans: number, reuse?: Buffer) {
    super(4096 + expectedSpans * 320, reuse);
  }

  /** A hex id as its raw bytes (an id of valid hex, as the proxy's and the propagator's are). */
  private putHex(id: string): void {
    const buf = this.buf;
    let off = this.off;
    for (let i = 0; i < id.length; i += 2)
      buf[off++] = (HEX[id.charCodeAt(i)]! << 4) | HEX[id.charCodeAt(i + 1)]!;
    this.off = off;
  }

  /**
   * A string attribute from outside: KeyValue { key, AnyValue { string_value } }.
   *
   * A short value (a request id, an error type) is written first, in one native call
   * (Buffer#write), with every length around it assumed to take one byte; only if its UTF-8 turns
   * out too long for that is it written again below, with the lengths measured first. Copied a
   * character at a time in JavaScript, a 36-character request id cost about 2,500 instructions,
   * most of writing a span (counted with Valgrind's callgrind); the native write, about 600.
   */
  private stringAttr(key: Buffer, value: string): void {
    if (value.length <= SHORT_VALUE) {
      // The KeyValue's length is 6 + key + n: its key's tag and length, its value's, and the
      // string's. It takes one byte up to 127.
      const room = 0x7f - 6 - key.length;
      this.ensure(8 + key.length + value.length * 3);
      const buf = this.buf;
      const at = this.off;
      const valueAt = at + 4 + key.length;
      const n = buf.write(value, valueAt + 4);
      if (n <= room) {
        buf[at] = 0x4a; // attributes (9)
        buf[at + 1] = 6 + key.length + n;
        buf[at + 2] = 0x0a; // key (1)
        buf[at + 3] = key.length;
        buf.set(key, at + 4);
        buf[valueAt] = 0x12; // value (2)
        buf[valueAt + 1] = n + 2;
        buf[valueAt + 2] = 0x0a; // string_value (1)
        buf[valueAt + 3] = n;
        this.off = valueAt + 4 + n;
        return;
      }
    }
    let n = value.length;
    for (let i = 0; i < value.length; i++) {
      if (value.charCodeAt(i) > 0x7f) {
        n = Buffer.byteLength(value, 'utf8');
        break;
      }
    }
    const any = 1 + varintLength(n) + n;
    const kv = 2 + key.length + 1 + varintLength(any) + any;
    this.ensure(kv + 16);
    const buf = this.buf;
    let off = this.off;
    buf[off++] = 0x4a; // attributes (9)
    off = putVarint(buf, off, kv);
    buf[off++] = 0x0a; // key (1); keys are short
    buf[off++] = key.length;
    buf.set(key, off);
    off += key.length;
    buf[off++] = 0x12; // value (2)
    off = putVarint(buf, off, any);
    buf[off++] = 0x0a; // string_value (1)
    off = putVarint(buf, off, n);
    if (n === value.length) for (let i = 0; i < n; i++) buf[off++] = value.charCodeAt(i);
    else off += buf.write(value, off, 'utf8');
    this.off = off;
  }

  add(s: ProxySpan): void {
    let frame = this.frame;
    if (frame === undefined) {
      frame = this.frame = frameFor(s);
      this.ensure(frame.reserve + frame.scopeTail.length + frame.resourceTail.length);
      this.off = frame.reserve;
    }
    const f = fragmentsFor(s, frame);
    const attributes = s.statusCode ? attributesWithStatus(f, s.statusCode) : f.attributes;
    this.ensure(SPAN_FIXED_MAX + f.name.length + attributes.length);
    // Written through locals, stored back into the writer around the rarer parts.
    let buf = this.buf;
    let off = this.off;
    buf[off] = 0x12; // ScopeSpans.spans (2)
    // The span's length goes here once known; two bytes fit spans of 128 to 16,383 bytes.
    const lengthAt = off + 1;
    const start = (off += 3);
    buf[off++] = 0x0a; // trace_id (1)
    buf[off++] = 16;
    const traceIdBytes = s.traceIdBytes;
    if (traceIdBytes !== undefined) {
      // The id's bytes where the span cut them from its id pool: a few stores.
      const at = s.traceIdAt;
      for (let i = 0; i < 16; i++) buf[off + i] = traceIdBytes[at + i]!;
      off += 16;
    } else {
      this.off = off;
      this.putHex(s.traceId);
      off = this.off;
    }
    buf[off++] = 0x12; // span_id (2)
    buf[off++] = 8;
    const idBytes = s.idBytes;
    const spanIdAt = s.spanIdAt;
    for (let i = 0; i < 8; i++) buf[off + i] = idBytes[spanIdAt + i]!;
    off += 8;
    this.off = off;
    const traceState = s.traceState?.serialize();
    if (traceState) {
      const n = Buffer.byteLength(traceState, 'utf8');
      this.ensure(n + 8 + SPAN_FIXED_MAX);
      this.buf[this.off++] = 0x1a; // trace_state (3)
      this.off = putVarint(this.buf, this.off, n);
      this.off += this.buf.write(traceState, this.off, 'utf8');
    }
    if (s.parentSpanId !== undefined) {
      this.buf[this.off++] = 0x22; // parent_span_id (4)
      this.buf[this.off++] = 8;
      this.putHex(s.parentSpanId);
    }
    buf = this.buf;
    off = this.off;
    buf.set(f.name, off);
    off = putNanos(buf, off + f.name.length, s.startWallMs);
    buf[off++] = 0x41; // end_time_unix_nano (8), fixed64
    off = putNanos(buf, off, s.endWallMs);
    buf.set(attributes, off);
    this.off = off + attributes.length;
    if (s.resendCount) {
      const b = intKeyValue(RESEND_COUNT_KEY, s.resendCount);
      this.ensure(b.length + SPAN_FIXED_MAX);
      this.put(b);
    }
    if (s.requestId !== undefined) this.stringAttr(REQUEST_ID_KEY, s.requestId);
    if (s.errorType !== undefined) this.stringAttr(ERROR_TYPE_KEY, s.errorType);
    if (s.nylasErrorType !== undefined) this.stringAttr(NYLAS_ERROR_TYPE_KEY, s.nylasErrorType);
    this.ensure(SPAN_TAIL_BYTES + 8);
    buf = this.buf;
    off = this.off;
    // dropped_attributes_count (10), dropped_events_count (12), dropped_links_count (14), all 0;
    // status (15) with its code (ERROR 2 when the span has an error type); flags (16, fixed32):
    // sampled, and whether the parent is remote (the W3C bits the library writes).
    buf[off] = 0x50;
    buf[off + 1] = 0;
    buf[off + 2] = 0x60;
    buf[off + 3] = 0;
    buf[off + 4] = 0x70;
    buf[off + 5] = 0;
    buf[off + 6] = 0x7a;
    buf[off + 7] = 2;
    buf[off + 8] = 0x18;
    buf[off + 9] = s.errorType === undefined ? 0 : 2;
    buf[off + 10] = 0x85;
    buf[off + 11] = 1;
    buf[off + 12] = 0x01;
    buf[off + 13] = s.parentRemote ? 0x03 : 0x01;
    buf[off + 14] = 0;
    buf[off + 15] = 0;
    off += SPAN_TAIL_BYTES;
    const len = off - start;
    const width = varintLength(len);
    if (width !== 2) {
      buf.copyWithin(lengthAt + width, start, off);
      off += width - 2;
    }
    putVarint(buf, lengthAt, len);
    this.off = off;
    this.count++;
  }

  finish(): Uint8Array | undefined {
    const frame = this.frame;
    if (frame === undefined) return undefined;
    this.ensure(frame.scopeTail.length + frame.resourceTail.length);
    const spans = this.off - frame.reserve;
    this.put(frame.scopeTail);
    this.put(frame.resourceTail);
    const scopeSpans = frame.scopeHead.length + spans + frame.scopeTail.length;
    const resourceSpans =
      frame.resourceHead.length +
      1 +
      varintLength(scopeSpans) +
      scopeSpans +
      frame.resourceTail.length;
    // The head, written backwards from the first span.
    const head =
      1 +
      varintLength(resourceSpans) +
      frame.resourceHead.length +
      1 +
      varintLength(scopeSpans) +
      frame.scopeHead.length;
    const buf = this.buf;
    let at = frame.reserve - head;
    const from = at;
    buf[at++] = 0x0a; // ExportTraceServiceRequest.resource_spans (1)
    at = putVarint(buf, at, resourceSpans);
    buf.set(frame.resourceHead, at);
    at += frame.resourceHead.length;
    buf[at++] = 0x12; // ResourceSpans.scope_spans (2)
    at = putVarint(buf, at, scopeSpans);
    buf.set(frame.scopeHead, at);
    return buf.subarray(from, this.off);
  }
}

/** The OTLP/protobuf request for `spans` (proxy spans of one process), as the exporter sends it. */
export function serializeProxySpansProto(spans: readonly ProxySpan[]): Uint8Array | undefined {
  const w = new ProxySpanProtoWriter(spans.length);
  for (const s of spans) w.add(s);
  return w.finish();
}
