// Probe behind docs/span-export.md (issue 17), after `npm run build`. No network.
//   node bench/probes/span-path.mjs
//   In a warm loop, on this process's CPU time: writing one span as OTLP/JSON and as
//   OTLP/protobuf (512-span batches into a reused buffer, bytes per span), and the whole span path
//   of a request (start with two ids, end, written into the batch by the batcher, whose exporter
//   answers at once). Medians of several runs; a loop has nothing else to do, so these are the
//   floor of what a span costs in the proxy, not what it costs there.
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { spanFixture } from './span-fixture.mjs';
const {
  createProxySpans,
  ProxySpanJsonWriter,
  ProxySpanProtoWriter,
  ProxySpanBatcher,
  shared,
  ROUTE,
} = await spanFixture(fileURLToPath(new URL('../..', import.meta.url)));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const cpuUs = (fn) => {
  const t0 = process.cpuUsage();
  fn();
  const u = process.cpuUsage(t0);
  return u.user + u.system;
};

// 512 ended spans, as a batch holds them.
const ended = [];
const spans = createProxySpans(shared, undefined, { onEnd: (s) => ended.push(s) });
for (let i = 0; i < 512; i++) {
  const t = performance.now();
  const s = spans.start(`GET ${ROUTE}`, 'GET', ROUTE, undefined, t);
  s.statusCode = 200;
  s.requestId = `req-${i}-5fa64c92-e840-4357`;
  spans.end(s, t + 1.2345);
}
for (const [name, Writer] of [
  ['OTLP/JSON', ProxySpanJsonWriter],
  ['OTLP/protobuf', ProxySpanProtoWriter],
]) {
  let buffer;
  let bytes = 0;
  const write = (batches) => {
    for (let r = 0; r < batches; r++) {
      const w = new Writer(512, buffer);
      for (const s of ended) w.add(s);
      bytes = w.finish().length;
      buffer = w.buffer;
    }
  };
  write(50);
  const runs = Array.from({ length: 7 }, () => (cpuUs(() => write(200)) * 1000) / (200 * 512));
  console.log(
    `${name.padEnd(14)} ${median(runs).toFixed(0)} ns a span, ${(bytes / 512).toFixed(0)} bytes`,
  );
}

const exporter = { export: (_b, done) => done({ code: 0 }), shutdown: async () => undefined };
const path = (n) => {
  const s = createProxySpans(shared, undefined, new ProxySpanBatcher({ exporter }));
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const span = s.start(`GET ${ROUTE}`, 'GET', ROUTE, undefined, t);
    span.statusCode = 200;
    span.requestId = 'req-5fa64c92-e840-4357-86b9';
    s.end(span, t + 1.2345);
  }
};
path(50_000);
const runs = Array.from({ length: 7 }, () => cpuUs(() => path(100_000)) / 100_000);
console.log(`span path      ${median(runs).toFixed(2)} µs a request (start, ids, end, written)`);
