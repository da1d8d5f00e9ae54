// Instructions per request, counted by Valgrind's callgrind (needs `apt install valgrind`), after
// `npm run build`. Loopback only.
//   node bench/probes/instructions.mjs [rounds] [requests] [checkout ...]
//     the bare proxy and the sidecar built in each checkout (this one by default), each under
//     callgrind; NOOTLP=1 adds each sidecar without an OTLP endpoint, OTLP_PROTOCOL=http/json
//     exports OTLP/JSON. After a warm-up, each round zeroes a process's counters, sends it
//     `requests` requests (autocannon, 8 connections) and dumps the counters: instructions per
//     request, for the whole process (every thread: callgrind runs them one at a time).
//   WARM=n requests each first (12,000 by default), then SKIP=n rounds (2 by default) counted but
//   left out of the medians: under Valgrind the JIT's optimizing compiler, on its own thread, can
//   still be at work well after the warm-up requests.
//   NODE_ARGS='--flag ...' starts the proxies with those node options (--perf-basic-prof writes
//   /tmp/perf-<pid>.map, which names the JIT's code in a dump: callgrind-self.mjs reads it).
//   Add --min-semi-space-size=16 to count garbage collection as it runs at full speed: under
//   Valgrind V8 keeps the young generation at 1-2 MB and scavenges ten times as often, and every
//   scavenge scans the same roots (docs/span-export.md, seventh look).
//   VALGRIND_ARGS='--cache-sim=yes' adds callgrind options (that one also prints the simulated
//   cache's reads, writes and misses per request).
//   KEEP=dir keeps the last round's dumps there, for callgrind-self.mjs or callgrind_annotate.
//
// Each figure also comes without what V8's runtime spent defining object literals' computed keys
// (callgrind-self.mjs literalSlowPath): in some processes and not others, Node's nextTick takes
// that slow path, about 40,000 instructions a request, for the process's life.
//
// Why: CPU time on this shared VM moves 20 to 40 % between rounds, and it has no hardware
// counters. An instruction count does not depend on the neighbours: it moves a few per cent with
// when a garbage collection or an export falls in the window, so a change of a few per cent can be
// told from the noise. It counts user-space instructions only (the system calls are the same per
// request with and without the sidecar: syscalls.mjs), not what they cost (cache misses, which
// CPU time does include), and it overstates work done on a timer (the event-loop delay monitor,
// the sweeper), which runs as often per second at ~200 requests a second under Valgrind as at
// thousands without it.
/* global fetch */
import { fileURLToPath } from 'node:url';
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, mkdirSync, rmSync, mkdtempSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../package.json', import.meta.url));
const autocannon = require('autocannon');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const B = `${ROOT}/dist/bench`;
const rounds = Number(process.argv[2] ?? 5);
const requests = Number(process.argv[3] ?? 4000);
// Absolute: the proxies run in a scratch directory (--perf-basic-prof writes there).
const dirs = process.argv.slice(4).map((d) => resolve(d));
const work = mkdtempSync(`${tmpdir()}/instructions-`);
const kids = [];
process.on('exit', () => {
  kids.forEach((k) => k.kill('SIGKILL'));
  rmSync(work, { recursive: true, force: true });
});
const { freePort, waitHealthy } = await import(`${B}/proc.js`);
const { parse, literalSlowPath } = await import('./callgrind-self.mjs');
const { benchSidecarEnv } = await import(`${B}/sidecar-env.js`);

function start(args, env = {}, { valgrind = false, name = '' } = {}) {
  const argv = valgrind
    ? [
        'valgrind',
        '--tool=callgrind',
        '--smc-check=all-non-file',
        ...(process.env.VALGRIND_ARGS ? process.env.VALGRIND_ARGS.split(' ') : []),
        `--callgrind-out-file=${work}/${name}.%p`,
        process.execPath,
        ...(process.env.NODE_ARGS ? process.env.NODE_ARGS.split(' ') : []),
        ...args,
      ]
    : [process.execPath, ...args];
  const c = spawn(argv[0], argv.slice(1), {
    // --perf-basic-prof also writes V8's isolate logs into the working directory.
    cwd: work,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  kids.push(c);
  let err = '';
  c.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  c.on('exit', (code) => code && console.error(`${name || args[0]} exited ${code}: ${err}`));
  return new Promise((res) => {
    let b = '';
    c.stdout.on('data', (d) => {
      b += d;
      const i = b.indexOf('\n');
      if (i >= 0) res({ c, line: b.slice(0, i) });
    });
  });
}

const send = (url, amount) =>
  autocannon({ url, connections: 8, amount, timeout: 60 }).then((r) => {
    if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return r.requests.total;
  });

/** Zeroes the process's counters, runs `amount` requests, dumps; answers instructions (Ir). */
async function count(t, amount) {
  execFileSync('callgrind_control', ['-z', String(t.pid)], { stdio: 'ignore' });
  const before = new Set(readdirSync(work));
  const sent = await send(t.url, amount);
  execFileSync('callgrind_control', ['-d', String(t.pid)], { stdio: 'ignore' });
  const dump = readdirSync(work).find((f) => f.startsWith(`${t.name}.`) && !before.has(f));
  if (!dump) throw new Error(`no callgrind dump for ${t.name}`);
  const text = readFileSync(`${work}/${dump}`, 'utf8');
  const ir = Number(/^summary: (\d+)/m.exec(text)?.[1]);
  const slow = literalSlowPath(parse(`${work}/${dump}`));
  // Every event counted (with VALGRIND_ARGS=--cache-sim=yes: cache reads, writes and misses).
  const names = /^events: (.*)$/m.exec(text)?.[1].trim().split(/\s+/) ?? [];
  const values = /^summary: (.*)$/m.exec(text)?.[1].trim().split(/\s+/).map(Number) ?? [];
  const events = Object.fromEntries(names.map((n, i) => [n, (values[i] ?? 0) / sent]));
  return { perRequest: ir / sent, clean: (ir - slow) / sent, dump: `${work}/${dump}`, events };
}

const up = await start([`${B}/upstream.js`]);
const upstream = `http://127.0.0.1:${JSON.parse(up.line).port}`;
const sink = await start([`${B}/otlp-sink.js`]);
const otlp = `http://127.0.0.1:${JSON.parse(sink.line).port}`;
const path = '/v3/grants/d2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a/messages?limit=5';

const targets = [];
const bare = await start([`${B}/bare-proxy.js`, upstream], {}, { valgrind: true, name: 'bare' });
targets.push({ name: 'bare', url: `http://127.0.0.1:${JSON.parse(bare.line).port}${path}` });
targets.at(-1).pid = bare.c.pid;
async function sidecar(name, main, withOtlp) {
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const s = start(
    [main],
    {
      ...benchSidecarEnv({ upstream, proxyPort, adminPort }),
      SIDECAR_LOG_LEVEL: 'warn',
      ...(withOtlp ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp } : {}),
      ...(withOtlp && process.env.OTLP_PROTOCOL
        ? { OTEL_EXPORTER_OTLP_PROTOCOL: process.env.OTLP_PROTOCOL }
        : {}),
    },
    { valgrind: true, name },
  );
  void s;
  await waitHealthy(adminPort, 120);
  targets.push({ name, url: `http://127.0.0.1:${proxyPort}${path}`, pid: kids.at(-1).pid });
}
for (const d of dirs.length ? dirs : [ROOT]) {
  const name = d.replace(/\/$/, '').split('/').pop();
  await sidecar(name, `${d}/dist/src/main.js`, true);
  if (process.env.NOOTLP) await sidecar(`${name}-nootlp`, `${d}/dist/src/main.js`, false);
}

// Warm-up: the JIT's tiers, the connection pools, the heap's sizes.
const warm = Number(process.env.WARM ?? 12000);
for (const t of targets) await send(t.url, warm);
console.log(`warm; ${rounds} rounds of ${requests} requests per process`);
const per = Object.fromEntries(targets.map((t) => [t.name, []]));
const clean = Object.fromEntries(targets.map((t) => [t.name, []]));
const kept = {};
const events = Object.fromEntries(targets.map((t) => [t.name, []]));
// The first rounds are counted and shown but left out of the medians: under Valgrind the JIT's
// optimizing compiler, on its own thread, can still be at work well after the warm-up requests.
const skip = Number(process.env.SKIP ?? 2);
for (let r = 0; r < skip + rounds; r++) {
  const into = r < skip ? { per: {}, clean: {} } : { per, clean };
  for (let i = 0; i < targets.length; i++) {
    const t = targets[(i + r) % targets.length];
    const counted = await count(t, requests);
    (into.per[t.name] ??= []).push(counted.perRequest);
    (into.clean[t.name] ??= []).push(counted.clean);
    kept[t.name] = counted.dump;
    if (r >= skip) events[t.name].push(counted.events);
  }
  if (r < skip) {
    const shown = (t) => `${t.name} ${into.per[t.name][0].toFixed(0)}`;
    console.log(`warm-up round ${r + 1}: ${targets.map(shown).join(', ')}`);
    continue;
  }
  const shown = (t) =>
    `${t.name} ${per[t.name].at(-1).toFixed(0)} (${clean[t.name].at(-1).toFixed(0)})`;
  console.log(`round ${r - skip + 1}: ${targets.map(shown).join(', ')}`);
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const k = (x) => (x / 1000).toFixed(1);
const range = (xs, f) => `[${f(Math.min(...xs))}..${f(Math.max(...xs))}]`;
const ratio = (x) => x.toFixed(3);
console.log('In brackets: without the slow path of object literals with computed keys.');
for (const t of targets) {
  const ratios = per[t.name].map((x, i) => x / per.bare[i]);
  const cleanRatios = clean[t.name].map((x, i) => x / clean.bare[i]);
  console.log(
    `${t.name.padEnd(16)} ${k(med(per[t.name]))} k instructions/request ` +
      (t.name === 'bare'
        ? `${range(per.bare, k)} (${k(med(clean.bare))} k ${range(clean.bare, k)})`
        : `over bare: median ${ratio(med(ratios))} ${range(ratios, ratio)} ` +
          `(${k(med(clean[t.name]))} k, ${ratio(med(cleanRatios))} ${range(cleanRatios, ratio)})`),
  );
}
if (Object.keys(events.bare[0] ?? {}).length > 1) {
  console.log('Every event, per request (median over the rounds):');
  for (const t of targets) {
    const row = Object.keys(events.bare[0])
      .map((e) => `${e} ${med(events[t.name].map((x) => x[e])).toFixed(0)}`)
      .join(', ');
    console.log(`${t.name.padEnd(16)} ${row}`);
  }
}
const cnt = await (await fetch(otlp + '/count')).json();
console.log('receiver', JSON.stringify(cnt));
if (process.env.KEEP) {
  rmSync(process.env.KEEP, { recursive: true, force: true });
  mkdirSync(process.env.KEEP, { recursive: true });
  for (const [name, f] of Object.entries(kept)) {
    copyFileSync(f, `${process.env.KEEP}/${name}.callgrind`);
    const pid = /\.(\d+)(\.\d+)?$/.exec(f)?.[1];
    try {
      copyFileSync(`/tmp/perf-${pid}.map`, `${process.env.KEEP}/${name}.map`);
    } catch {
      /* no --perf-basic-prof */
    }
  }
  console.log(`dumps of the last round in ${process.env.KEEP}`);
}
process.exit(0);
