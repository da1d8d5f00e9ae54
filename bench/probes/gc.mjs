/* global setTimeout */
// Probe behind docs/span-export.md (issue 17), after `npm run build`. Loopback only.
//   node bench/probes/gc.mjs <checkout|bare> ['node flags']
//   scavenges and mark-compacts (--trace-gc) of the sidecar built in <checkout>, or of the
//   benchmark's bare proxy, during 8 s at saturation; NOOTLP=1 for no OTLP endpoint. With
//   '--trace-opt --trace-deopt' as the flags it counts the optimizing compiler's jobs and the
//   deoptimizations in those 8 s instead (the JIT's waves: docs/span-export.md, eighth look).
//   PHASES=n [SECS=s] runs n phases of s seconds (10) at saturation after the 2 s warm-up and
//   prints each one's requests, CPU per request, JIT jobs and deoptimizations (with the flags
//   above), scavenges and full collections (with --trace-gc): how long a process takes to
//   settle (docs/span-export.md, tenth look).
import { fileURLToPath } from 'node:url';
// node gc.mjs <distDir> : runs sidecar with --trace-gc under 8s saturation, summarises
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../package.json', import.meta.url));
const autocannon = require('autocannon');
const secs = Number(process.env.SECS ?? 10);
// Checked before anything starts.
if (process.env.PHASES && (!/^\d+$/.test(process.env.PHASES) || !(secs > 0))) {
  console.error(`PHASES takes a whole number and SECS a number of seconds above 0`);
  process.exit(2);
}
execFileSync('taskset', ['-cp', '1', String(process.pid)]);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const B = `${ROOT}/dist/bench`;
const kids = [];
process.on('exit', () => kids.forEach((k) => k.kill('SIGKILL')));
const start = (args, env = {}) => {
  const c = spawn('taskset', ['-c', '0', process.execPath, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  kids.push(c);
  return c;
};
const line = (c) =>
  new Promise((r) => {
    let b = '';
    c.stdout.on('data', (d) => {
      b += d;
      if (b.includes('\n')) r(b.split('\n')[0]);
    });
  });
const up = start([`${B}/upstream.js`]);
const upstream = `http://127.0.0.1:${JSON.parse(await line(up)).port}`;
const sink = start([`${B}/otlp-sink.js`]);
const otlp = `http://127.0.0.1:${JSON.parse(await line(sink)).port}`;
const d = process.argv[2];
// The benchmark's own helpers (built into dist/bench by `npm run build`).
const { freePort, waitHealthy } = await import(`${B}/proc.js`);
const { benchSidecarEnv } = await import(`${B}/sidecar-env.js`);
const { cpuSeconds } = await import(`${B}/proc.js`);
const proxyPort = await freePort();
const adminPort = await freePort();
const flags = process.argv[3] ? process.argv[3].split(' ') : ['--trace-gc'];
const s =
  d === 'bare'
    ? start([...flags, `${B}/bare-proxy.js`, upstream])
    : start([...flags, `${d}/dist/src/main.js`], {
        ...benchSidecarEnv({ upstream, proxyPort, adminPort }),
        SIDECAR_LOG_LEVEL: 'warn',
        ...(process.env.NOOTLP ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: otlp }),
      });
let out = '';
s.stdout.on('data', (x) => (out += x));
let port = proxyPort;
if (d === 'bare') {
  // The bare proxy prints {"port": N} among the traces.
  for (let i = 0; !/^\{"port".*$/m.test(out); i++) {
    if (s.exitCode !== null || i > 200) throw new Error(`the bare proxy did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  port = JSON.parse(/^\{"port".*$/m.exec(out)[0]).port;
} else await waitHealthy(adminPort);
const path = '/v3/grants/d2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a/messages?limit=5';
await autocannon({ url: `http://127.0.0.1:${port}` + path, connections: 32, duration: 2 });
const jitOf = (lines) => ({
  optimized: lines.filter((l) => /completed (optimizing|compiling)/.test(l)).length,
  deoptimized: lines.filter((l) => /bailout \(kind/.test(l)).length,
});
if (process.env.PHASES) {
  for (let ph = 1; ph <= Number(process.env.PHASES); ph++) {
    const from = out.length;
    const cpu0 = cpuSeconds(s.pid);
    const r = await autocannon({
      url: `http://127.0.0.1:${port}` + path,
      connections: 32,
      duration: secs,
    });
    const lines = out.slice(from).split('\n');
    const phase = {
      seconds: [2 + (ph - 1) * secs, 2 + ph * secs],
      requests: r.requests.total,
      cpu_us_per_request: Number(
        (((cpuSeconds(s.pid) - cpu0) / r.requests.total) * 1e6).toFixed(1),
      ),
      ...jitOf(lines),
      scavenges: lines.filter((l) => /Scavenge/.test(l)).length,
      mark_compacts: lines.filter((l) => /Mark-Compact|Mark-sweep/.test(l)).length,
    };
    console.log(d, JSON.stringify(phase));
  }
  process.exit(0);
}
const mark = out.length;
const r = await autocannon({
  url: `http://127.0.0.1:${port}` + path,
  connections: 32,
  duration: 8,
});
const jit = jitOf(out.slice(mark).split('\n'));
if (jit.optimized + jit.deoptimized > 0)
  console.log(d, 'requests', r.requests.total, JSON.stringify(jit));
const gc = out
  .slice(mark)
  .split('\n')
  .filter((l) => /Scavenge|Mark-Compact|Mark-sweep|Minor/.test(l));
const sum = {};
for (const l of gc) {
  const kind = /(Scavenge|Mark-Compact|Mark-sweep|Minor[^ ]*)/.exec(l)[1];
  const ms = Number(/ ([0-9.]+) \/ ([0-9.]+) ms/.exec(l)?.[1] ?? NaN);
  sum[kind] ??= { n: 0, ms: 0 };
  sum[kind].n++;
  sum[kind].ms += ms;
}
console.log(d, 'requests', r.requests.total, JSON.stringify(sum));
console.log(gc.slice(0, 3).join('\n'));
console.log(
  gc
    .filter((l) => /Mark/.test(l))
    .slice(0, 3)
    .join('\n'),
);
process.exit(0);
