// The footprint phase of `npm run bench`: what one sidecar costs in memory and start-up, the
// figures a fleet pays once per replica, against the bare undici proxy (./bare-proxy.ts) in the
// same run. Each round starts every process fresh, in an order that rotates from round to round,
// and reads:
//
//   ready      from spawn until the process serves: the bare proxy's "listening" line, the
//              sidecar's first `/readyz` 200 (polled every 5 ms);
//   idle RSS   VmRSS from /proc/<pid>/status 2 s after ready;
//   load RSS   VmRSS after 40,000 proxied GETs over 16 keep-alive connections.
//
// The proxy role is measured with span export off and on (to the OTLP sink, ./otlp-sink.ts);
// the pollers role (its schedules off, as every benchmark sidecar's: a poll would add requests
// to the upstream) and `all` are printed too. `--node PATH` runs the measured processes on
// another Node binary (scripts/shipped-node.mjs installs the one the image ships).
// `--compile-cache` adds the proxy role, span export off and on, started with NODE_COMPILE_CACHE
// on a directory warmed beforehand (scripts/warm-compile-cache.mjs), in the same rounds: what
// Node's compile cache (Node >= 22.1) would save on start-up and cost in memory.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { benchSidecarEnv } from './sidecar-env.js';
import { freePort } from '../test/helpers/ports.js';
import { spread, type Spread } from './spread.js';

export interface FootprintOptions {
  /** The repository (dist/ built). */
  root: string;
  /** Node binary the measured processes run on. */
  node: string;
  rounds: number;
  /** Proxied GETs per loaded measurement, and the keep-alive connections they share. */
  requests?: number;
  connections?: number;
  /** Pin the measured processes, the upstream and the sink to core 0 (`taskset`). */
  pin: boolean;
  /** Also measure the proxy role started on a warmed compile cache. */
  compileCache?: boolean;
}

type Variant = 'bare' | 'proxy' | 'proxy_spans' | 'pollers' | 'all' | 'proxy_cc' | 'proxy_spans_cc';
const BASE_VARIANTS: Variant[] = ['bare', 'proxy', 'proxy_spans', 'pollers', 'all'];
const CACHED_VARIANTS: Variant[] = ['proxy_cc', 'proxy_spans_cc'];
const LABEL: Record<Variant, string> = {
  bare: 'bare undici proxy',
  proxy: 'SIDECAR_ROLE=proxy',
  proxy_spans: 'SIDECAR_ROLE=proxy, spans exported',
  pollers: 'SIDECAR_ROLE=pollers',
  all: 'SIDECAR_ROLE=all',
  proxy_cc: 'proxy, compile cache',
  proxy_spans_cc: 'proxy, spans, compile cache',
};

interface Sample {
  readyMs: number;
  idleKb: number;
  /** Undefined for the pollers role, which proxies nothing. */
  loadKb?: number;
}

export interface FootprintResult {
  node: string;
  requests: number;
  connections: number;
  /** Each variant's rounds: ready ms, idle and loaded RSS in MB. */
  by_variant: Partial<
    Record<Variant, { ready_ms: Spread; idle_mb: Spread; load_mb: Spread | null }>
  >;
  /** Per round, each sidecar over the bare proxy measured in the same round. */
  over_bare: Partial<
    Record<Exclude<Variant, 'bare'>, { ready: Spread; idle_rss: Spread; load_rss: Spread | null }>
  >;
}

const DOC = '/v3/grants/d2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a/messages?limit=5';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** Spawns `node script args` (pinned to core 0 when asked) with exactly `env` and PATH. */
function start(
  opts: FootprintOptions,
  node: string,
  script: string,
  argv: string[],
  env: Record<string, string>,
): ChildProcess {
  const cmd = opts.pin ? 'taskset' : node;
  const cmdArgs = opts.pin ? ['-c', '0', node, script, ...argv] : [script, ...argv];
  return spawn(cmd, cmdArgs, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The first line a child prints on stdout (a port as JSON); rejects if it exits first. */
function firstLine(child: ChildProcess, what: string): Promise<string> {
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** `requests` GETs of one document over `connections` keep-alive connections, as fast as taken. */
async function load(url: string, requests: number, connections: number): Promise<void> {
  const pool = new Pool(url, { connections, pipelining: 1 });
  let left = requests;
  let failed = 0;
  const worker = async () => {
    while (left > 0) {
      left--;
      const res = await pool.request({ path: DOC, method: 'GET' });
      await res.body.dump();
      if (res.statusCode !== 200) failed++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  await pool.close();
  if (failed > 0) throw new Error(`${failed} of ${requests} proxied GETs did not answer 200`);
}

async function measure(
  opts: FootprintOptions,
  variant: Variant,
  upstream: string,
  sink: string,
  cacheDir: string | undefined,
): Promise<Sample> {
  const requests = opts.requests ?? 40_000;
  const connections = opts.connections ?? 16;
  const t0 = performance.now();
  let child: ChildProcess;
  let url: string | undefined;
  let readyMs: number;
  if (variant === 'bare') {
    child = start(
      opts,
      opts.node,
      join(opts.root, 'dist', 'bench', 'bare-proxy.js'),
      [upstream],
      {},
    );
    const line = await firstLine(child, 'the bare proxy');
    readyMs = performance.now() - t0;
    url = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
  } else {
    const proxyPort = await freePort();
    const adminPort = await freePort();
    const role = variant === 'pollers' || variant === 'all' ? variant : 'proxy';
    const env: Record<string, string> = {
      ...benchSidecarEnv({ upstream, proxyPort, adminPort }),
      SIDECAR_ROLE: role,
      ...(variant === 'proxy_spans' || variant === 'proxy_spans_cc'
        ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink }
        : {}),
      ...(CACHED_VARIANTS.includes(variant) ? { NODE_COMPILE_CACHE: cacheDir! } : {}),
    };
    const spawnedAt = performance.now();
    child = start(opts, opts.node, join(opts.root, 'dist', 'src', 'main.js'), [], env);
    let exited = false;
    child.once('exit', () => (exited = true));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.resume();
    for (;;) {
      if (exited) throw new Error(`the sidecar (${LABEL[variant]}) exited: ${stderr}`);
      if (performance.now() - spawnedAt > 30_000)
        throw new Error(`the sidecar (${LABEL[variant]}) was not ready within 30 s`);
      const ok = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(5);
    }
    readyMs = performance.now() - t0;
    if (role !== 'pollers') url = `http://127.0.0.1:${proxyPort}`;
  }
  try {
    await sleep(2_000);
    const idleKb = rssKb(child.pid!);
    if (!url) return { readyMs, idleKb };
    await load(url, requests, connections);
    return { readyMs, idleKb, loadKb: rssKb(child.pid!) };
  } finally {
    await stop(child);
  }
}

/** Runs the phase: `rounds` rounds of every variant, the order rotating each round. */
export async function runFootprintPhase(opts: FootprintOptions): Promise<FootprintResult> {
  const bench = join(opts.root, 'dist', 'bench');
  // The upstream and the sink run on this process's Node: only the measured processes change.
  const up = start(opts, process.execPath, join(bench, 'upstream.js'), [], {});
  const sinkChild = start(opts, process.execPath, join(bench, 'otlp-sink.js'), [], {});
  const VARIANTS = opts.compileCache ? [...BASE_VARIANTS, ...CACHED_VARIANTS] : BASE_VARIANTS;
  // Warmed once, by the Node and the user the sidecars run on (the cache serves only those).
  let cacheDir: string | undefined;
  if (opts.compileCache) {
    cacheDir = mkdtempSync(join(tmpdir(), 'sidecar-compile-cache-'));
    execFileSync(opts.node, [join(opts.root, 'scripts', 'warm-compile-cache.mjs'), cacheDir], {
      stdio: 'inherit',
    });
  }
  try {
    const port = (line: string) => (JSON.parse(line) as { port: number }).port;
    const upstream = `http://127.0.0.1:${port(await firstLine(up, 'the upstream'))}`;
    const sink = `http://127.0.0.1:${port(await firstLine(sinkChild, 'the OTLP sink'))}`;
    const samples = Object.fromEntries(VARIANTS.map((v) => [v, [] as Sample[]])) as Record<
      Variant,
      Sample[]
    >;
    for (let r = 0; r < opts.rounds; r++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!);
      for (const v of order) samples[v].push(await measure(opts, v, upstream, sink, cacheDir));
      process.stdout.write(`  footprint round ${r + 1}/${opts.rounds} done\n`);
    }
    const mb = (kb: number) => kb / 1024;
    const by_variant = Object.fromEntries(
      VARIANTS.map((v) => {
        const s = samples[v];
        const loaded = s.every((x) => x.loadKb !== undefined);
        return [
          v,
          {
            ready_ms: spread(s.map((x) => x.readyMs)),
            idle_mb: spread(s.map((x) => mb(x.idleKb))),
            load_mb: loaded ? spread(s.map((x) => mb(x.loadKb!))) : null,
          },
        ];
      }),
    ) as FootprintResult['by_variant'];
    const bare = samples.bare;
    const over_bare = Object.fromEntries(
      VARIANTS.filter((v) => v !== 'bare').map((v) => {
        const s = samples[v];
        const loaded = s.every((x) => x.loadKb !== undefined);
        return [
          v,
          {
            ready: spread(s.map((x, i) => x.readyMs / bare[i]!.readyMs)),
            idle_rss: spread(s.map((x, i) => x.idleKb / bare[i]!.idleKb)),
            load_rss: loaded ? spread(s.map((x, i) => x.loadKb! / bare[i]!.loadKb!)) : null,
          },
        ];
      }),
    ) as FootprintResult['over_bare'];
    return {
      node: opts.node,
      requests: opts.requests ?? 40_000,
      connections: opts.connections ?? 16,
      by_variant,
      over_bare,
    };
  } finally {
    await Promise.all([stop(up), stop(sinkChild)]);
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  }
}

const f = (n: number, d: number) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const range = (s: Spread, d: number, unit = '') =>
  `${f(s.median, d)}${unit} (${f(s.min, d)} to ${f(s.max, d)})`;

/** Prints the phase as a table: each figure the median of the rounds, with min to max. */
export function printFootprint(r: FootprintResult, nodeVersion: string): void {
  console.log(
    `\nFootprint (${nodeVersion}; ${r.by_variant.bare!.idle_mb.rounds} alternating rounds, fresh processes; ${r.requests} GETs over ${r.connections} keep-alive connections; median (min to max)):`,
  );
  console.log(
    `  ${'process'.padEnd(36)} ${'ready ms'.padEnd(22)} ${'RSS idle MB'.padEnd(22)} RSS after load MB`,
  );
  const variants = [...BASE_VARIANTS, ...CACHED_VARIANTS].filter((v) => r.by_variant[v]);
  for (const v of variants) {
    const b = r.by_variant[v]!;
    console.log(
      `  ${LABEL[v].padEnd(36)} ${range(b.ready_ms, 0).padEnd(22)} ${range(b.idle_mb, 1).padEnd(22)} ${b.load_mb ? range(b.load_mb, 1) : '-'}`,
    );
  }
  console.log(
    '  over the bare proxy, per round (targets for the proxy role: RSS <= 1.25x, ready <= 2x):',
  );
  for (const v of variants) {
    if (v === 'bare') continue;
    const o = r.over_bare[v]!;
    console.log(
      `  ${LABEL[v].padEnd(36)} ${range(o.ready, 2, 'x').padEnd(22)} ${range(o.idle_rss, 2, 'x').padEnd(22)} ${o.load_rss ? range(o.load_rss, 2, 'x') : '-'}`,
    );
  }
}
