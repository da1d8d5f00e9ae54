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
/* global Buffer, performance, setTimeout */
import { spanFixture } from './span-fixture.mjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const mode = process.argv[2] ?? 'write';
const root = process.argv[3] ?? fileURLToPath(new URL('../..', import.meta.url));
const SPANS = 51_200;

if (process.env.SPAN_INSTRUCTIONS_CHILD === undefined) {
  if (mode !== 'write' && mode !== 'startend') {
    console.error('usage: span-instructions.mjs [write|startend] [checkout]');
    process.exit(2);
  }
  const work = mkdtempSync(`${tmpdir()}/span-instructions-`);
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${work}/span.%p`,
      process.execPath,
      '--perf-basic-prof',
      fileURLToPath(import.meta.url),
      mode,
      root,
    ],
    { cwd: work, env: { ...process.env, SPAN_INSTRUCTIONS_CHILD: '1' }, encoding: 'utf8' },
  );
  const dump = readdirSync(work).find((f) => /^span\.\d+\.\d+$/.test(f));
  if (run.status !== 0 || !dump) {
    console.error(`callgrind run failed (${run.status}): ${run.stderr.slice(-2000)}`);
    process.exit(1);
  }
  const ir = Number(/^summary: (\d+)/m.exec(readFileSync(`${work}/${dump}`, 'utf8'))?.[1]);
  console.log(`${mode} ${root}: ${(ir / SPANS).toFixed(0)} instructions a span`);
  if (process.env.KEEP) {
    rmSync(process.env.KEEP, { recursive: true, force: true });
    mkdirSync(process.env.KEEP, { recursive: true });
    copyFileSync(`${work}/${dump}`, `${process.env.KEEP}/span.callgrind`);
    copyFileSync(`/tmp/perf-${dump.split('.')[1]}.map`, `${process.env.KEEP}/span.map`);
    console.log(
      `dump in ${process.env.KEEP}: node bench/probes/callgrind-self.mjs ${process.env.KEEP}/span.callgrind ${SPANS}`,
    );
  }
  rmSync(work, { recursive: true, force: true });
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
for (let i = 0; i < 6; i++) {
  round();
  await new Promise((r) => setTimeout(r, 1500));
}
execFileSync('callgrind_control', ['-z', String(process.pid)], { stdio: 'ignore' });
round();
execFileSync('callgrind_control', ['-d', String(process.pid)], { stdio: 'ignore' });
