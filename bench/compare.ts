// Same-run comparison of two builds of the sidecar: CPU per request at saturation and latency at
// a fixed 1,000 requests/s, in alternating rounds (the order flips every round), against the
// bench's fake Nylas, spans exported to a local OTLP sink. Loopback only; bounded in time.
//
//   npm run build && node dist/bench/compare.js --base <dir>/dist/src/main.js [--rounds N]
//
// <dir> is another checkout, built (e.g. `git archive <commit> | tar -x -C <dir>`, node_modules
// linked, `npx tsc -p tsconfig.build.json`). Ratios are this build over the base, per round,
// then the median and the spread over rounds: on a shared machine single runs drift.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixedRate, saturate } from './load.js';
import { benchSidecarEnv } from './sidecar-env.js';
import { freePort, hasTaskset, cpuSeconds } from './proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const base = args.includes('--base') ? args[args.indexOf('--base') + 1] : undefined;
const ROUNDS = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : 9);
if (!base) {
  console.error('usage: node dist/bench/compare.js --base <dir>/dist/src/main.js [--rounds N]');
  process.exit(2);
}
const SAT_SECONDS = 3;
const RATE_SECONDS = 4;
const RATE = 1000;

const canPin = cpus().length >= 2 && hasTaskset();
const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

/** `node <script>` on core 0; resolves its pid and first stdout line. */
function startNode(script: string, env: Record<string, string> = {}) {
  const cmd = canPin ? 'taskset' : process.execPath;
  const argv = canPin ? ['-c', '0', process.execPath, script] : [script];
  const child = spawn(cmd, argv, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise<{ pid: number; line: string }>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ pid: child.pid!, line: buf.slice(0, nl) });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

async function startSidecar(main: string, upstream: string, otlp: string) {
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const { pid } = await startNode(main, {
    ...benchSidecarEnv({ upstream, proxyPort, adminPort }),
    SIDECAR_LOG_LEVEL: 'info',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
  });
  return { pid, proxy: `http://127.0.0.1:${proxyPort}` };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(3)}..${Math.max(...xs).toFixed(3)}`;

const up = await startNode(join(here, 'upstream.js'));
const upstream = `http://127.0.0.1:${(JSON.parse(up.line) as { port: number }).port}`;
const sink = await startNode(join(here, 'otlp-sink.js'));
const otlp = `http://127.0.0.1:${(JSON.parse(sink.line) as { port: number }).port}`;
const builds = {
  head: await startSidecar(join(here, '..', 'src', 'main.js'), upstream, otlp),
  base: await startSidecar(base, upstream, otlp),
};
// The sidecar prints its banner on stderr and logs on stdout: wait until both answer.
for (const b of Object.values(builds))
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${b.proxy}/v3/grants`).then(
      (r) => r.arrayBuffer().then(() => true),
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
const path = '/v3/grants/d2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a/messages?limit=5';
for (const b of Object.values(builds)) await saturate(b.proxy + path, 2, 16);

const cpu = { head: [] as number[], base: [] as number[] };
const p99 = { head: [] as number[], base: [] as number[] };
const p50 = { head: [] as number[], base: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? (['head', 'base'] as const) : (['base', 'head'] as const);
  for (const k of order) {
    const c0 = cpuSeconds(builds[k].pid);
    const res = await saturate(builds[k].proxy + path, SAT_SECONDS);
    cpu[k].push(((cpuSeconds(builds[k].pid) - c0) / res.requests) * 1e6);
  }
  for (const k of order) {
    const lat = await fixedRate(builds[k].proxy + path, RATE, RATE_SECONDS);
    p99[k].push(lat.p99);
    p50[k].push(lat.p50);
  }
  console.log(
    `round ${r + 1}: CPU/request head ${cpu.head.at(-1)!.toFixed(1)} µs, base ${cpu.base.at(-1)!.toFixed(1)} µs; ` +
      `p99 head ${p99.head.at(-1)!.toFixed(2)} ms, base ${p99.base.at(-1)!.toFixed(2)} ms`,
  );
}
const ratio = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!);
const cpuRatio = ratio(cpu.head, cpu.base);
const p99Ratio = ratio(p99.head, p99.base);
const p50Ratio = ratio(p50.head, p50.base);
console.log(
  JSON.stringify(
    {
      rounds: ROUNDS,
      pinned: canPin,
      cpu_us_per_request: { head: median(cpu.head), base: median(cpu.base) },
      cpu_ratio_head_over_base: { median: median(cpuRatio), range: spread(cpuRatio) },
      p50_ms: { head: median(p50.head), base: median(p50.base) },
      p50_ratio: { median: median(p50Ratio), range: spread(p50Ratio) },
      p99_ms: { head: median(p99.head), base: median(p99.base) },
      p99_ratio: { median: median(p99Ratio), range: spread(p99Ratio) },
    },
    null,
    2,
  ),
);
process.exit(0);
