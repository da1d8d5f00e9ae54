// Instructions of the proxy's path handling in a warm loop, counted by Valgrind's callgrind
// (needs `apt install valgrind`), after `npm run build`. No network.
//   node bench/probes/route-instructions.mjs [match|escape-includes|escape-regex] [checkout]
//     match: the route matcher of the checkout (this one by default) on 256 grant paths of the
//     benchmark's shape; escape-includes / escape-regex: the path check for dots, backslashes,
//     NULs and escapes done with four `includes` (as src/proxy/server.ts does) or one regular
//     expression. Prints instructions per call (docs/span-export.md, eighth look).
/* global Buffer */
import { fileURLToPath } from 'node:url';
import { countRound, isCallgrindChild, underCallgrind } from './callgrind-loop.mjs';

const mode = process.argv[2] ?? 'match';
const root = process.argv[3] ?? fileURLToPath(new URL('../..', import.meta.url));
const CALLS = 100_000;

if (!isCallgrindChild('route-instructions')) {
  if (!['match', 'escape-includes', 'escape-regex'].includes(mode)) {
    console.error('usage: route-instructions.mjs [match|escape-includes|escape-regex] [checkout]');
    process.exit(2);
  }
  const { ir, done } = underCallgrind('route-instructions', fileURLToPath(import.meta.url), [
    mode,
    root,
  ]);
  console.log(`${mode} ${root}: ${(ir / CALLS).toFixed(0)} instructions a call`);
  done();
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
// Warm (six rounds of 50,000 with pauses), then one counted round of CALLS.
await countRound(() => loop(CALLS), { warm: () => loop(50_000) });
if (n < 0) console.log(n);
