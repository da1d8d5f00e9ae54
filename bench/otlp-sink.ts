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
import { countProtoSpans, countSpans, eachJsonSpan } from '../test/helpers/otlp-count.js';

let batches = 0;
let spans = 0;
let bytes = 0;
let recording = false;
/** Spans received while recording: span id, trace id, duration in seconds. */
const recorded: [string, string, number][] = [];
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
