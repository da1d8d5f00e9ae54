// Instructions a span costs in a warm loop, counted by Valgrind's callgrind (needs
// `apt install valgrind`), after `npm run build`. No network.
//   node bench/probes/span-instructions.mjs [write|startend] [checkout]
//     write: writing one span (a 36-character request id, status 200) into a 512-span
//     OTLP/protobuf batch, buffer reused; startend: starting and ending one (ids, clock reads),
//     nothing kept. Of the checkout given (this one by default), so two builds can be compared.
//   KEEP=dir keeps the dump and the JIT's names for callgrind-self.mjs.
// The loop runs warm (six rounds with pauses, so that the optimizing compiler has finished), then
// the counters are zeroed, one round of 51,200 spans is counted, and they are dumped. Unlike
// instructions.mjs, nothing here depends on which JIT tiers a long-running process happened to
// reach: two runs of one build agree within about 2 %.
/* global Buffer, performance */
import { spanFixture } from './span-fixture.mjs';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { countRound, isCallgrindChild, underCallgrind } from './callgrind-loop.mjs';

const mode = process.argv[2] ?? 'write';
const root = process.argv[3] ?? fileURLToPath(new URL('../..', import.meta.url));
const SPANS = 51_200;

if (!isCallgrindChild('span-instructions')) {
  if (mode !== 'write' && mode !== 'startend') {
    console.error('usage: span-instructions.mjs [write|startend] [checkout]');
    process.exit(2);
  }
  const { ir, dumpPath, pid, done } = underCallgrind(
    'span-instructions',
    fileURLToPath(import.meta.url),
    [mode, root],
    ['--perf-basic-prof'],
  );
  console.log(`${mode} ${root}: ${(ir / SPANS).toFixed(0)} instructions a span`);
  if (process.env.KEEP) {
    rmSync(process.env.KEEP, { recursive: true, force: true });
    mkdirSync(process.env.KEEP, { recursive: true });
    copyFileSync(dumpPath, `${process.env.KEEP}/span.callgrind`);
    copyFileSync(`/tmp/perf-${pid}.map`, `${process.env.KEEP}/span.map`);
    console.log(
      `dump in ${process.env.KEEP}: node bench/probes/callgrind-self.mjs ${process.env.KEEP}/span.callgrind ${SPANS}`,
    );
  }
  done();
  process.exit(0);
}

// The child, under callgrind.
const { createProxySpans, ProxySpanProtoWriter, shared, ROUTE } = await spanFixture(root);
const NAME = `GET ${ROUTE}`;
// Request ids as the proxy gets them from undici: flat strings, one per response.
const ids = Array.from({ length: 512 }, (_, i) =>
  Buffer.from(`5fa64c92-e840-4357-86b9-${String(i).padStart(12, '0')}`, 'latin1').toString(
    'latin1',
  ),
);
let keep = true;
const ended = [];
const spans = createProxySpans(shared, undefined, { onEnd: (s) => keep && ended.push(s) });
const startEnd = (n) => {
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const s = spans.start(NAME, 'GET', ROUTE, undefined, t);
    s.statusCode = 200;
    s.requestId = ids[i & 511];
    spans.end(s, t + 1.2345);
  }
};
startEnd(512);
keep = false;
let buffer;
const write = (batches) => {
  for (let r = 0; r < batches; r++) {
    const w = new ProxySpanProtoWriter(512, buffer);
    for (const s of ended) w.add(s);
    w.finish();
    buffer = w.buffer;
  }
};
const round = mode === 'write' ? () => write(SPANS / 512) : () => startEnd(SPANS);
await countRound(round, { pauseMs: 1500 });
