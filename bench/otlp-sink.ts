// The benchmark's OTLP/HTTP receiver: accepts span batches and counts them, so the spans' export
// cost in the sidecar is real. Run as a child process pinned with the servers:
// `node dist/bench/otlp-sink.js` prints {"port": N} on stdout once listening; GET /count answers
// {"batches": n, "spans": s, "bytes": m}. Spans are counted by their `"spanId":"` key in an
// OTLP/JSON body (a native search, no parse): `"parentSpanId"` does not match it; in an
// OTLP/protobuf body, by walking the messages down to the span list.
//
// POST /record makes it also keep, from then on, every span's ids and duration (parsing each
// body, which costs more); GET /recorded answers them as [[spanId, traceId, seconds], ...]. The
// benchmark checks the sidecar's exemplars against them.
//
// It used to run inside the benchmark's own process, which is also the load generator: taking
// in each 380 KB batch then delayed the generator's requests and their timing, and that showed up
// as sidecar latency. A real collector does not share the app's event loop.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let batches = 0;
let spans = 0;
let bytes = 0;
let recording = false;
/** Spans received while recording: span id, trace id, duration in seconds. */
const recorded: [string, string, number][] = [];
const SPAN_KEY = Buffer.from('"spanId":"');

function countSpans(body: Buffer): number {
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
function countProtoSpans(
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
function eachJsonSpan(
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

const keep = (spanId: string, traceId: string, seconds: number) =>
  void recorded.push([spanId, traceId, seconds]);

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ batches, spans, bytes }));
    return;
  }
  if (req.method === 'POST' && req.url === '/record') {
    recording = true;
    res.writeHead(204).end();
    req.resume();
    return;
  }
  if (req.method === 'GET' && req.url === '/recorded') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(recorded));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => {
    bytes += d.length;
    chunks.push(d);
  });
  req.on('end', () => {
    batches++;
    const body = Buffer.concat(chunks);
    // An empty ExportTraceServiceResponse is no bytes at all in protobuf.
    if (String(req.headers['content-type']).includes('protobuf')) {
      spans += countProtoSpans(body, recording ? keep : undefined);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      return;
    }
    spans += countSpans(body);
    if (recording) eachJsonSpan(body, keep);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
