// The benchmark's OTLP/HTTP receiver: accepts span batches and counts them, so the spans' export
// cost in the sidecar is real. Run as a child process pinned with the servers:
// `node dist/bench/otlp-sink.js` prints {"port": N} on stdout once listening; GET /count answers
// {"batches": n, "spans": s, "bytes": m}. Spans are counted by their `"spanId":"` key in an
// OTLP/JSON body (a native search, no parse): `"parentSpanId"` does not match it; in an
// OTLP/protobuf body, by walking the messages down to the span list.
//
// It used to run inside the benchmark's own process, which is also the load generator: taking
// in each 380 KB batch then delayed the generator's requests and their timing, and that showed up
// as sidecar latency. A real collector does not share the app's event loop.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let batches = 0;
let spans = 0;
let bytes = 0;
const SPAN_KEY = Buffer.from('"spanId":"');

function countSpans(body: Buffer): number {
  let n = 0;
  for (let i = body.indexOf(SPAN_KEY); i >= 0; i = body.indexOf(SPAN_KEY, i + SPAN_KEY.length)) n++;
  return n;
}

/**
 * Spans in an ExportTraceServiceRequest: resource_spans (1) > scope_spans (2) > spans (2). Every
 * field on the way is length-delimited or a varint (what the exporter writes there).
 */
function countProtoSpans(b: Buffer, from = 0, to = b.length, depth = 0): number {
  let n = 0;
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
    const wire = tag & 7;
    if (wire === 0) {
      varint();
      continue;
    }
    if (wire !== 2) throw new Error(`wire type ${wire} where a message was expected`);
    const len = varint();
    const field = tag >>> 3;
    if (depth === 0 && field === 1) n += countProtoSpans(b, at, at + len, 1);
    else if (depth === 1 && field === 2) n += countProtoSpans(b, at, at + len, 2);
    else if (depth === 2 && field === 2) n++;
    at += len;
  }
  return n;
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ batches, spans, bytes }));
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
      spans += countProtoSpans(body);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      return;
    }
    spans += countSpans(body);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
