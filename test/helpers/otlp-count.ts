// How an OTLP receiver counts and reads the spans of an export request without a full decode: the
// benchmark's receiver (bench/otlp-sink.ts) uses it for its "every span exported" check, and the
// unit tests check it against the sidecar's own writers.

const SPAN_KEY = Buffer.from('"spanId":"');

export function countSpans(body: Buffer): number {
  let n = 0;
  for (let i = body.indexOf(SPAN_KEY); i >= 0; i = body.indexOf(SPAN_KEY, i + SPAN_KEY.length)) n++;
  return n;
}

/** The fields of a protobuf message: number, wire type, and where the value is. */
function* protoFields(b: Buffer, from: number, to: number) {
  let at = from;
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const c = b[at++]!;
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) return v;
    }
  };
  while (at < to) {
    const tag = varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    const start = at;
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const len = varint();
      yield { field, wire, start: at, end: at + len };
      at += len;
      continue;
    } else throw new Error(`unexpected wire type ${wire}`);
    yield { field, wire, start, end: at };
  }
}

/**
 * Spans in an ExportTraceServiceRequest: resource_spans (1) > scope_spans (2) > spans (2); each
 * span's ids and duration go to `onSpan` when given.
 */
export function countProtoSpans(
  b: Buffer,
  onSpan?: (spanId: string, traceId: string, seconds: number) => void,
): number {
  let n = 0;
  for (const rs of protoFields(b, 0, b.length)) {
    if (rs.field !== 1) continue;
    for (const ss of protoFields(b, rs.start, rs.end)) {
      if (ss.field !== 2) continue;
      for (const s of protoFields(b, ss.start, ss.end)) {
        if (s.field !== 2) continue;
        n++;
        if (!onSpan) continue;
        let traceId = '';
        let spanId = '';
        let start = 0n;
        let end = 0n;
        for (const f of protoFields(b, s.start, s.end)) {
          if (f.field === 1) traceId = b.toString('hex', f.start, f.end);
          else if (f.field === 2) spanId = b.toString('hex', f.start, f.end);
          else if (f.field === 7) start = b.readBigUInt64LE(f.start);
          else if (f.field === 8) end = b.readBigUInt64LE(f.start);
        }
        onSpan(spanId, traceId, Number(end - start) / 1e9);
      }
    }
  }
  return n;
}

/** Every span of an OTLP/JSON request, to `onSpan`. */
export function eachJsonSpan(
  body: Buffer,
  onSpan: (spanId: string, traceId: string, seconds: number) => void,
): void {
  const doc = JSON.parse(body.toString('utf8')) as {
    resourceSpans?: {
      scopeSpans?: {
        spans?: {
          spanId: string;
          traceId: string;
          startTimeUnixNano: string;
          endTimeUnixNano: string;
        }[];
      }[];
    }[];
  };
  for (const rs of doc.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        onSpan(
          s.spanId,
          s.traceId,
          Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e9,
        );
}
