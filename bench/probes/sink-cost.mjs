// What the benchmark's OTLP receiver (dist/bench/otlp-sink.js) costs per span, after
// `npm run build`. Loopback only.
//   node bench/probes/sink-cost.mjs [batches]
//     512 spans written by this checkout's protobuf writer (a 36-character request id each), then:
//     the receiver's span count alone in a warm loop (ns a span), and the receiver's process CPU
//     (from /proc) for `batches` batches (400 by default) posted back to back over one keep-alive
//     connection (µs a span, ms a batch). Docs/span-export.md, eighth look.
/* global Buffer, crypto, performance */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { spanFixture } from './span-fixture.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BATCHES = Number(process.argv[2] ?? 400);
const { ProxySpanProtoWriter, createProxySpans, shared, ROUTE } = await spanFixture(ROOT);
const spans = [];
const ps = createProxySpans(shared, undefined, { onEnd: (s) => spans.push(s) });
for (let i = 0; i < 512; i++) {
  const s = ps.start(`GET ${ROUTE}`, 'GET', ROUTE, undefined, performance.now());
  s.statusCode = 200;
  s.requestId = crypto.randomUUID();
  ps.end(s, performance.now());
}
const w = new ProxySpanProtoWriter(512);
for (const s of spans) w.add(s);
const body = Buffer.from(w.finish());

// The receiver's own counting function.
const { countProtoSpans } = await import(`${ROOT}/dist/bench/otlp-count.js`);
let n = 0;
for (let i = 0; i < 500; i++) n += countProtoSpans(body);
const t0 = process.hrtime.bigint();
for (let i = 0; i < 4000; i++) n += countProtoSpans(body);
const ns = Number(process.hrtime.bigint() - t0);
if (n !== 4500 * 512) throw new Error(`counted ${n} spans, expected ${4500 * 512}`);

const sink = spawn(process.execPath, [`${ROOT}/dist/bench/otlp-sink.js`], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
process.on('exit', () => sink.kill('SIGKILL'));
const port = await new Promise((r) =>
  sink.stdout.once('data', (d) => r(JSON.parse(String(d)).port)),
);
const cpu = () => {
  const f = readFileSync(`/proc/${sink.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const post = () =>
  new Promise((resolve, reject) => {
    const r = request(
      {
        port,
        method: 'POST',
        path: '/v1/traces',
        agent,
        headers: { 'content-type': 'application/x-protobuf' },
      },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    r.on('error', reject);
    r.end(body);
  });
for (let i = 0; i < 50; i++) await post();
const c0 = cpu();
for (let i = 0; i < BATCHES; i++) await post();
const c1 = cpu();
console.log(
  `batch of 512 spans, ${body.length} bytes: counting ${(ns / 4000 / 512).toFixed(0)} ns a span; ` +
    `receiver process ${(((c1 - c0) * 1e6) / (BATCHES * 512)).toFixed(2)} µs a span, ` +
    `${(((c1 - c0) * 1e3) / BATCHES).toFixed(2)} ms a batch`,
);
process.exit(0);
