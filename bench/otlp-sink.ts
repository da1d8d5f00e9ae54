// The benchmark's OTLP/HTTP receiver: accepts span batches and counts them, so the spans' export
// cost in the sidecar is real. Run as a child process pinned with the servers:
// `node dist/bench/otlp-sink.js` prints {"port": N} on stdout once listening; GET /count answers
// {"batches": n, "spans": s, "bytes": m}. Spans are counted by their `"spanId":"` key in the
// OTLP/JSON body (a native search, no parse): `"parentSpanId"` does not match it.
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
    spans += countSpans(Buffer.concat(chunks));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
