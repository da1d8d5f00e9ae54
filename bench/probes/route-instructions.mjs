// Instructions of the proxy's path handling in a warm loop, counted by Valgrind's callgrind
// (needs `apt install valgrind`), after `npm run build`. No network.
//   node bench/probes/route-instructions.mjs [match|escape-includes|escape-regex] [checkout]
//     match: the route matcher of the checkout (this one by default) on 256 grant paths of the
//     benchmark's shape; escape-includes / escape-regex: the path check for dots, backslashes,
//     NULs and escapes done with four `includes` (as src/proxy/server.ts does) or one regular
//     expression. Prints instructions per call (docs/span-export.md, eighth look).
/* global Buffer, setTimeout */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const mode = process.argv[2] ?? 'match';
const root = process.argv[3] ?? fileURLToPath(new URL('../..', import.meta.url));
const CALLS = 100_000;

if (process.env.ROUTE_INSTRUCTIONS_CHILD === undefined) {
  if (!['match', 'escape-includes', 'escape-regex'].includes(mode)) {
    console.error('usage: route-instructions.mjs [match|escape-includes|escape-regex] [checkout]');
    process.exit(2);
  }
  const work = mkdtempSync(`${tmpdir()}/route-instructions-`);
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${work}/route.%p`,
      process.execPath,
      fileURLToPath(import.meta.url),
      mode,
      root,
    ],
    { cwd: work, env: { ...process.env, ROUTE_INSTRUCTIONS_CHILD: '1' }, encoding: 'utf8' },
  );
  // The dump taken after the counters were zeroed (callgrind_control -z, then -d).
  const dump = readdirSync(work).find((f) => /^route\.\d+\.1$/.test(f));
  if (run.status !== 0 || !dump) {
    console.error(`callgrind run failed (${run.status}): ${run.stderr.slice(-2000)}`);
    process.exit(1);
  }
  const ir = Number(/^summary: (\d+)/m.exec(readFileSync(`${work}/${dump}`, 'utf8'))?.[1]);
  console.log(`${mode} ${root}: ${(ir / CALLS).toFixed(0)} instructions a call`);
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

// The child, under callgrind. Paths as node:http hands them over: flat strings.
const paths = Array.from({ length: 256 }, (_, i) =>
  Buffer.from(
    `/v3/grants/d2b6b8f4-63f5-4a8e-9d4c-${String(i).padStart(12, '0')}/messages`,
    'latin1',
  ).toString('latin1'),
);
const RE = /[\\\0.%]/;
let f;
if (mode === 'match') {
  const { createRouteMatcher } = await import(`${root}/dist/src/proxy/routes.js`);
  const match = createRouteMatcher();
  f = (p) => match(p).route.length;
} else if (mode === 'escape-regex') f = (p) => (RE.test(p) ? 1 : 0);
else
  f = (p) => (p.includes('\\') || p.includes('\0') || p.includes('.') || p.includes('%') ? 1 : 0);
let n = 0;
const loop = (k) => {
  for (let i = 0; i < k; i++) n += f(paths[i & 255]);
};
// Warm, with pauses so that the optimizing compiler finishes; then one counted round.
for (let r = 0; r < 6; r++) {
  loop(50_000);
  await new Promise((r) => setTimeout(r, 100));
}
execFileSync('callgrind_control', ['-z', String(process.pid)], { stdio: 'ignore' });
loop(CALLS);
execFileSync('callgrind_control', ['-d', String(process.pid)], { stdio: 'ignore' });
if (n < 0) console.log(n);
