// How often Node's nextTick defines its tick object's keys through V8's runtime, with and without
// idle full collections and with and without src/util/tick-shape.ts holding a tick object.
// Counted by Valgrind's callgrind (needs `apt install valgrind`), after `npm run build`.
//   node bench/probes/tick-literal.mjs [bursts]
// Each variant is a process that runs three phases of `bursts` (6,000 by default) bursts of ten
// nextTicks, a setImmediate between bursts; "idle gc" calls gc() four times between the phases,
// when no tick object is alive. It prints the calls to Runtime_DefineKeyedOwnPropertyInLiteral:
// a few thousand from start-up when the feedback holds, about 1.6 a tick once it went megamorphic.
/* global setImmediate, setTimeout */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const HOLD = fileURLToPath(new URL('../../dist/src/util/tick-shape.js', import.meta.url));

if (process.env.TICK_LITERAL_CHILD) {
  if (process.env.HOLD === '1') {
    const { holdTickObjectShape } = await import(HOLD);
    holdTickObjectShape();
  }
  const bursts = Number(process.env.BURSTS);
  const noop = () => {};
  const phase = async () => {
    for (let b = 0; b < bursts; b++) {
      for (let i = 0; i < 10; i++) process.nextTick(noop, i);
      await new Promise((r) => setImmediate(r));
    }
  };
  const idle = async () => {
    await new Promise((r) => setTimeout(r, 20));
    if (process.env.GC === '1') for (let i = 0; i < 4; i++) globalThis.gc();
    await new Promise((r) => setTimeout(r, 20));
  };
  await phase();
  await idle();
  await phase();
  await idle();
  await phase();
} else {
  const bursts = Number(process.argv[2] ?? 6000);
  const work = mkdtempSync(`${tmpdir()}/tick-literal-`);
  const variants = [
    ['no idle gc', { GC: '0', HOLD: '0' }],
    ['idle gc', { GC: '1', HOLD: '0' }],
    ['idle gc, tick object held', { GC: '1', HOLD: '1' }],
  ];
  console.log(`${bursts * 30} ticks a process`);
  for (const [name, env] of variants) {
    const out = `${work}/${env.GC}${env.HOLD}.callgrind`;
    execFileSync(
      'valgrind',
      [
        '--tool=callgrind',
        '--smc-check=all-non-file',
        `--callgrind-out-file=${out}`,
        process.execPath,
        '--expose-gc',
        fileURLToPath(import.meta.url),
      ],
      {
        env: { ...process.env, ...env, TICK_LITERAL_CHILD: '1', BURSTS: String(bursts) },
        stdio: ['ignore', 'ignore', 'ignore'],
      },
    );
    console.log(`${name.padEnd(28)} ${runtimeCalls(out)} runtime definitions`);
  }
  rmSync(work, { recursive: true, force: true });
}

/** Calls to Runtime_DefineKeyedOwnPropertyInLiteral in a callgrind dump (its `calls=` lines). */
function runtimeCalls(file) {
  const names = new Map();
  let target = false;
  let calls = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const fn = /^(c?)fn=\((\d+)\)(?: (.*))?/.exec(line);
    if (fn) {
      if (fn[3]) names.set(fn[2], fn[3]);
      if (fn[1]) target = /Runtime_DefineKeyedOwnPropertyInLiteral/.test(names.get(fn[2]) ?? '');
      continue;
    }
    const c = /^calls=(\d+)/.exec(line);
    if (c && target) calls += Number(c[1]);
  }
  return calls;
}
