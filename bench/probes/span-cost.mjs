// Probes behind docs/span-export.md (issue 17), after `npm run build`. Loopback only.
//   node bench/probes/span-cost.mjs measure [rounds] [checkout ...]
//     CPU per request at saturation (RATE=n for a fixed rate), with the kernel's part, and by
//     thread (main, others), of the bare proxy and of the sidecar built in each checkout (this
//     one by default), in alternating 3 s rounds; NOOTLP=1 adds each sidecar without an OTLP endpoint, NODE_ARGS='--flag ...'
//     each sidecar started with those node options; SINK1=1 adds each sidecar exporting to a
//     receiver on the load generator's core (1) instead of the proxies'; FRESH=1 starts each target anew every round;
//     BY_ROUND=1 prints each round's ratio over the bare proxy (to see a trend, the JIT's waves).
//   OUT=dir node bench/probes/span-cost.mjs profile [checkout|bare]
//     (OTLP_PROTOCOL=http/protobuf in either mode: the sidecars export OTLP/protobuf)
//     a --cpu-prof of 12 s at saturation, for bench/probes/analyze.mjs.
/* global fetch */
import { fileURLToPath } from 'node:url';
// Usage: node probe.mjs measure [rounds] [distDir...] | profile [distDir]
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../package.json', import.meta.url));
const autocannon = require('autocannon');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const B = `${ROOT}/dist/bench`;
const mode = process.argv[2];
const kids = [];
process.on('exit', () => kids.forEach((k) => k.kill('SIGKILL')));
execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
// The benchmark's own helpers (built into dist/bench by `npm run build`).
const { freePort, cpuSplit, waitHealthy } = await import(`${B}/proc.js`);
const { benchSidecarEnv } = await import(`${B}/sidecar-env.js`);
function start(args, env = {}, waitLine = true, core = 0) {
  const c = spawn('taskset', ['-c', String(core), process.execPath, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  kids.push(c);
  let err = '';
  c.stderr.on('data', (d) => (err += d));
  return new Promise((res, rej) => {
    let b = '';
    c.stdout.on('data', (d) => {
      b += d;
      const i = b.indexOf('\n');
      if (i >= 0 && waitLine) res({ c, line: b.slice(0, i) });
    });
    c.on('exit', (code, signal) => code !== 0 && !signal && rej(new Error('exit ' + code + err)));
  });
}
const threads = (pid) => {
  const o = {};
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const raw = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = t === String(pid) ? 'main' : 'other';
      const f = raw.split(') ')[1].split(' ');
      o[name] = (o[name] ?? 0) + (+f[11] + +f[12]) / 100;
    } catch {
      /* the thread ended */
    }
  }
  return o;
};
const RATE = Number(process.env.RATE ?? 0);
const sat = async (url, s) => {
  const r = await autocannon({
    url,
    connections: RATE ? 16 : 32,
    duration: s,
    ...(RATE ? { overallRate: RATE } : {}),
  });
  return r.requests.total;
};
async function sidecar(main, upstream, otlp, extra = {}) {
  const pp = await freePort(),
    ap = await freePort();
  start(
    [...(extra.nodeArgs ?? []), main],
    {
      ...benchSidecarEnv({ upstream, proxyPort: pp, adminPort: ap }),
      SIDECAR_LOG_LEVEL: 'warn',
      ...(otlp ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp } : {}),
      ...(otlp && process.env.OTLP_PROTOCOL
        ? { OTEL_EXPORTER_OTLP_PROTOCOL: process.env.OTLP_PROTOCOL }
        : {}),
      ...(extra.env ?? {}),
    },
    false,
  ).catch((e) => console.error(String(e).slice(0, 500)));
  await waitHealthy(ap);
  return { url: `http://127.0.0.1:${pp}`, pid: kids.at(-1).pid, c: kids.at(-1) };
}
const up = await start([`${B}/upstream.js`]);
const upstream = `http://127.0.0.1:${JSON.parse(up.line).port}`;
const sink = await start([`${B}/otlp-sink.js`]);
const otlp = `http://127.0.0.1:${JSON.parse(sink.line).port}`;
// SINK1=1: a second receiver, on the load generator's core, for a "<name>-sink1" sidecar.
const sink1 = process.env.SINK1 ? await start([`${B}/otlp-sink.js`], {}, true, 1) : undefined;
const otlp1 = sink1 && `http://127.0.0.1:${JSON.parse(sink1.line).port}`;
const path = '/v3/grants/d2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a/messages?limit=5';
if (mode === 'measure') {
  const rounds = Number(process.argv[3] ?? 6);
  const dirs = process.argv.slice(4);
  // How to start each target; FRESH=1 starts every one anew for each round (warmed 3 s first),
  // so that the medians are over as many processes as rounds: which JIT state a process ends up
  // in moves its CPU per request by up to a fifth for its whole life (docs/span-export.md).
  const makers = {
    bare: async () => {
      const bare = await start([`${B}/bare-proxy.js`, upstream]);
      return { url: `http://127.0.0.1:${JSON.parse(bare.line).port}`, pid: bare.c.pid, c: bare.c };
    },
  };
  for (const d of dirs.length ? dirs : [ROOT]) {
    const name = d.replace(/\/$/, '').split('/').pop();
    makers[name] = () => sidecar(`${d}/dist/src/main.js`, upstream, otlp);
    if (process.env.NOOTLP)
      makers[name + '-nootlp'] = () => sidecar(`${d}/dist/src/main.js`, upstream, undefined);
    if (otlp1) makers[name + '-sink1'] = () => sidecar(`${d}/dist/src/main.js`, upstream, otlp1);
    if (process.env.NODE_ARGS)
      makers[name + '-args'] = () =>
        sidecar(`${d}/dist/src/main.js`, upstream, otlp, {
          nodeArgs: process.env.NODE_ARGS.split(' '),
        });
  }
  const fresh = Boolean(process.env.FRESH);
  const targets = {};
  if (!fresh) for (const [n, make] of Object.entries(makers)) targets[n] = await make();
  const names = Object.keys(makers);
  const per = Object.fromEntries(names.map((n) => [n, []]));
  const rps = Object.fromEntries(names.map((n) => [n, []]));
  /** System (kernel) CPU per request: the same system calls for every target (syscalls.mjs). */
  const sys = {};
  if (!fresh) for (const n of names) await sat(targets[n].url + path, 1);
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + r) % names.length];
      if (fresh) {
        targets[n]?.c.kill('SIGKILL');
        targets[n] = { ...(await makers[n]()), th: targets[n]?.th };
        await sat(targets[n].url + path, 3);
      }
      const t = targets[n];
      const c0 = cpuSplit(t.pid);
      const th0 = threads(t.pid);
      const req = await sat(t.url + path, 3);
      const c1 = cpuSplit(t.pid);
      const user = c1.user - c0.user;
      const system = c1.system - c0.system;
      per[n].push(((user + system) / req) * 1e6);
      (sys[n] ??= []).push((system / req) * 1e6);
      rps[n].push(req / 3);
      const th1 = threads(t.pid);
      t.th ??= {};
      for (const k of Object.keys(th1))
        (t.th[k] ??= []).push(((th1[k] - (th0[k] ?? 0)) / req) * 1e6);
    }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const n of names) {
    const ratios = per[n].map((x, i) => x / per.bare[i]);
    const tr = rps[n].map((x, i) => x / rps.bare[i]);
    if (process.env.BY_ROUND && n !== 'bare')
      console.log(`${n} over bare by round: ${ratios.map((x) => x.toFixed(2)).join(' ')}`);
    console.log(
      `${n.padEnd(20)} cpu ${med(per[n]).toFixed(1)} us/req (system ${med(sys[n]).toFixed(1)})  ratio med ${med(ratios).toFixed(3)} [${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)}]  rps ${med(rps[n]).toFixed(0)} ratio ${med(tr).toFixed(3)}`,
    );
  }
  for (const n of names)
    console.log(
      n,
      Object.entries(targets[n].th)
        .map(([k, v]) => `${k}=${med(v).toFixed(1)}`)
        .join(' '),
    );
  const cnt = await (await fetch(otlp + '/count')).json();
  console.log('sink', JSON.stringify(cnt));
} else if (mode === 'profile') {
  const dir = process.env.OUT ?? 'span-cost-profile';
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const d = process.argv[3] ?? ROOT;
  const prof = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200'];
  let s;
  if (d === 'bare') {
    const b = await start([...prof, `${B}/bare-proxy.js`, upstream]);
    s = { url: `http://127.0.0.1:${JSON.parse(b.line).port}`, c: b.c };
  } else
    s = await sidecar(`${d}/dist/src/main.js`, upstream, process.env.NOOTLP ? undefined : otlp, {
      nodeArgs: prof,
    });
  await sat(s.url + path, 2);
  const n = await sat(s.url + path, 10);
  console.log('requests', n);
  s.c.kill('SIGTERM');
  await new Promise((r) => s.c.once('exit', r));
  console.log(readdirSync(dir));
}
process.exit(0);
