// `npm run bench`: what the sidecar costs, measured against going direct and against a bare
// undici proxy, in the same run, alternating. Loopback only; bounded in time.
//
//   npm run bench -- [--quick] [--rounds N] [--warm-up-seconds N] [--warm-up-rounds N]
//                    [--processes N] [--soak-seconds N] [--out FILE] [--compare DIR]
//                    [--env NAME=VALUE]... [--compare-env NAME=VALUE]...
//   npm run bench -- --footprint [--footprint-rounds N] [--node PATH] [--compile-cache]
//   (the footprint phase only: memory and start-up per role against the bare proxy, ./footprint.ts;
//   the default run ends with it too. --node runs its measured processes on another Node binary,
//   e.g. `--node "$(node scripts/shipped-node.mjs)/node"`, the version the image ships;
//   --compile-cache adds the proxy role started on a warmed NODE_COMPILE_CACHE)
//   npm run bench -- --grants 1000000 [--grants-max-seconds N] [--grants-old-ref REF]
//   (the grants pollers only, old and new side by side)
//   npm run bench -- --series [--main FILE]   (the series phase of `npm run stress`)
//
// --compare DIR adds, to the saturation and latency rounds, a second sidecar built in DIR (another
// checkout, `npm run build` done there), exporting to a receiver of its own: a before/after of a
// change measured in the same rounds, which is the only comparison this shared machine allows.
// --env and --compare-env add settings to the measured and the compared sidecar: with
// `--compare .` they compare two settings of one build (OTEL_EXPORTER_OTLP_PROTOCOL, say).
//
// With two or more cores, the upstream and the proxies run on core 0 and the load generator (this
// process) on core 1.
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { buildOld, printGrantsPhase, runGrantsPhase } from './grants.js';
import { downloads, fixedRate, saturate, type Percentiles } from './load.js';
import { spread } from './spread.js';
import { benchSidecarEnv } from './sidecar-env.js';
import { hasTaskset, cpuSeconds } from './proc.js';
import { freePort } from '../test/helpers/ports.js';
import { exemplarProblem, parseExemplars, type Exemplar } from '../test/helpers/exemplars.js';
import { printFootprint, runFootprintPhase, type FootprintResult } from './footprint.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outFile = args.includes('--out')
  ? args[args.indexOf('--out') + 1]!
  : join(root, 'bench', 'results', 'latest.json');
// Many short alternating rounds rather than a few long ones: on a shared VM the machine's speed
// drifts by tens of percent over minutes, and a per-round ratio of neighbours cancels most of it.
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
/**
 * A number given as `name N`, or `fallback`; anything else, or less than `min`, ends the run with
 * a one-line error naming the option.
 */
const numberArg = (name: string, fallback: number, whole: boolean, min = 0) => {
  const v = arg(name);
  if (v === undefined) return fallback;
  if (!(whole ? /^\d+$/ : /^\d+(\.\d+)?$/).test(v) || Number(v) < min) {
    console.error(
      `${name} takes a ${whole ? 'whole number' : 'number'} of at least ${min}, got "${v}"`,
    );
    process.exit(2);
  }
  return Number(v);
};
const ROUNDS = numberArg('--rounds', quick ? 4 : 10, true, 1);
const soakSeconds = numberArg('--soak-seconds', quick ? 20 : 60, false, 1);
// Each proxy runs this long at saturation before the first round. V8 is still compiling for
// 10 to 15 s of saturation (the sidecar has nearly twice as many functions as the bare proxy to
// optimize), and that compiling is CPU of the process: rounds measured meanwhile would charge it
// to the requests.
// At least 1 s: the connection pools are filled then.
const WARM_UP_SECONDS = numberArg('--warm-up-seconds', quick ? 2 : 20, false, 1);
// Then this many saturation rounds, alternating as the measured ones do, are run and left out.
// The first rounds after the warm-up still read dearer for the sidecar (in six of seven runs
// measured, leaving out five lowered the run's median CPU ratio): a process is judged at steady
// state, as a benchmark harness's warm-up iterations do.
const WARM_UP_ROUNDS = numberArg('--warm-up-rounds', quick ? 0 : 5, true);
// The saturation rounds are shared among this many pairs of proxy processes, one after the other
// (each warmed up as above): by default one pair for every 10 rounds. What a process is dealt for
// its life (where its code and heap land, what V8 optimizes when) moved one build's run median
// from 1.02× to 1.16× across runs of one process pair each; with several pairs, one run's figure
// is no longer one pair's luck.
const PROCESSES = numberArg('--processes', Math.max(1, Math.floor(ROUNDS / 10)), true, 1);
if (PROCESSES > ROUNDS) {
  console.error(`--processes takes at most the number of rounds (${ROUNDS}), got "${PROCESSES}"`);
  process.exit(2);
}
/** Measured rounds by pair of processes, as even as they go: 30 over 3, 10 each; 10 over 3, 4+3+3. */
const ROUNDS_BY_PAIR = Array.from(
  { length: PROCESSES },
  (_, p) => Math.floor(ROUNDS / PROCESSES) + (p < ROUNDS % PROCESSES ? 1 : 0),
);
const compareDir = arg('--compare');
const FOOTPRINT_ROUNDS = numberArg('--footprint-rounds', 3, true, 1);
const footprintNode = arg('--node') ?? process.execPath;
if (args.includes('--node') && !existsSync(footprintNode)) {
  console.error(`--node takes the path of a node binary; "${footprintNode}" does not exist`);
  process.exit(2);
}

/** The footprint phase (./footprint.ts), printed; on the Node of --node when given. */
async function footprintPhase(): Promise<FootprintResult> {
  const version = execFileSync(footprintNode, ['--version'], { encoding: 'utf8' }).trim();
  console.log(
    `\nfootprint phase: ${FOOTPRINT_ROUNDS} rounds on Node ${version} (${footprintNode})`,
  );
  const r = await runFootprintPhase({
    root,
    node: footprintNode,
    rounds: FOOTPRINT_ROUNDS,
    pin: canPin,
    compileCache: args.includes('--compile-cache'),
  });
  printFootprint(r, `Node ${version}`);
  return r;
}
/** Every NAME=VALUE given after `name`. */
function envArgs(name: string): Record<string, string> {
  const out: Record<string, string> = {};
  args.forEach((a, i) => {
    if (a !== name) return;
    const kv = args[i + 1] ?? '';
    const eq = kv.indexOf('=');
    if (eq < 1) throw new Error(`${name} takes NAME=VALUE, got "${kv}"`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  });
  return out;
}
const sidecarExtraEnv = envArgs('--env');
const compareExtraEnv = envArgs('--compare-env');
const SAT_SECONDS = quick ? 2 : 3;
/** The run whose exemplars are checked against the spans received. */
const EXEMPLAR_SECONDS = 3;
const RATE_SECONDS = quick ? 3 : 5;
const DOWNLOAD_ROUNDS = quick ? 2 : 3;
const RATE = 1000;

const canPin = cpus().length >= 2 && hasTaskset();

const children: ChildProcess[] = [];
let stopping = false;
/** Children stopped on purpose before the end (their exit is not an error). */
const stoppedOnPurpose = new WeakSet<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

/** Starts `node <script> ...args` on core 0 and resolves what it prints as its first JSON line. */
async function startNode(script: string, argv: string[], env: Record<string, string> = {}) {
  const cmd = canPin ? 'taskset' : process.execPath;
  const cmdArgs = canPin ? ['-c', '0', process.execPath, script, ...argv] : [script, ...argv];
  const child = spawn(cmd, cmdArgs, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<{ child: ChildProcess; pid: number; line: string }>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ child, pid: child.pid!, line: buf.slice(0, nl) });
    });
    child.once('exit', (code) => {
      const e = new Error(`${script} exited with ${code}: ${err}`);
      if (!stopping && !stoppedOnPurpose.has(child)) console.error(e.message);
      reject(e);
    });
  });
}

/** Starts the built sidecar with every instrumentation feature on. */
async function startSidecar(
  upstream: string,
  otlp: string,
  extra: Record<string, string> = {},
  main = join(root, 'dist', 'src', 'main.js'),
) {
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const started = await startNode(main, [], {
    ...benchSidecarEnv({ upstream, proxyPort, adminPort }),
    SIDECAR_LOG_LEVEL: 'info',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
    ...extra,
  });
  return {
    ...started,
    proxy: `http://127.0.0.1:${proxyPort}`,
    admin: `http://127.0.0.1:${adminPort}`,
  };
}

function memKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}
/** Resets a process's peak RSS (VmHWM) so the next reading covers only what follows. */
function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    /* not permitted: the peak then covers the process's whole life, said in the output */
  }
}

/** The OTLP/HTTP receiver (./otlp-sink.ts), pinned with the servers, not in this process. */
async function startOtlpSink() {
  const { line, pid } = await startNode(join(here, 'otlp-sink.js'), []);
  const url = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
  return {
    url,
    pid,
    count: () =>
      fetch(`${url}/count`).then(
        (r) => r.json() as Promise<{ batches: number; spans: number; bytes: number }>,
      ),
    /** From now on the receiver keeps every span's ids and duration. */
    record: () => fetch(`${url}/record`, { method: 'POST' }).then(() => undefined),
    /** What it kept: [spanId, traceId, seconds]. */
    recorded: () =>
      fetch(`${url}/recorded`).then((r) => r.json() as Promise<[string, string, number][]>),
  };
}

/** The latency histogram's exemplars in the sidecar's OpenMetrics exposition. */
async function scrapeExemplars(admin: string): Promise<Exemplar[]> {
  const res = await fetch(`${admin}/metrics`, {
    headers: { accept: 'application/openmetrics-text; version=1.0.0' },
  });
  return parseExemplars(await res.text());
}

/** Requests the sidecar proxied, by its own counter (every series of nylas_api_requests_total). */
async function proxiedRequests(admin: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  return [...text.matchAll(/^nylas_api_requests_total(?:\{.*\})? (\d+)$/gm)].reduce(
    (a, m) => a + Number(m[1]),
    0,
  );
}

/** SIGTERM, and the exit: the sidecar flushes its spans before it exits. */
function stopGracefully(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    stoppedOnPurpose.add(child);
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * nginx as a reference proxy when Debian's nginx is installed (it is not needed otherwise): one
 * process (`master_process off`), pinned like the others, keep-alive to the upstream, no
 * buffering. It shows what a proxy costs on this machine before any of our code runs.
 */
async function startNginx(upstream: string): Promise<{ url: string; pid: number } | undefined> {
  const bin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((b) => existsSync(b));
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream up { server ${new URL(upstream).host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}
`,
  );
  const argv = [bin, '-c', join(dir, 'nginx.conf'), '-p', dir];
  const child = spawn(canPin ? 'taskset' : bin, canPin ? ['-c', '0', ...argv] : argv.slice(1), {
    stdio: 'ignore',
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (
      await fetch(url + '/v3/grants').then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, pid: child.pid! };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  console.log('nginx is installed but did not start: measured without it');
  return undefined;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

async function main() {
  if (args.includes('--series')) {
    // The series phase of `npm run stress` (series by family, scrape size and time), alone.
    const r = spawnSync(
      process.execPath,
      [join(here, 'stress.js'), '--only', 'series', ...args.filter((a) => a !== '--series')],
      { stdio: 'inherit' },
    );
    process.exit(r.status ?? 1);
  }
  if (args.includes('--grants')) {
    const grants = Number(args[args.indexOf('--grants') + 1]);
    if (!Number.isInteger(grants) || grants < 1)
      throw new Error('--grants needs a number of grants');
    const maxSeconds = Number(args[args.indexOf('--grants-max-seconds') + 1] ?? NaN) || 900;
    console.log(
      `grants phase: ${grants} grants, old and new pollers side by side, up to ${maxSeconds} s`,
    );
    const oldRef = args.includes('--grants-old-ref')
      ? args[args.indexOf('--grants-old-ref') + 1]!
      : 'b5f2df8';
    console.log(`building the old grants poller from ${oldRef}`);
    const oldMain = buildOld(root, oldRef);
    const r = await runGrantsPhase({ root, grants, maxSeconds, oldMain });
    printGrantsPhase(r);
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile.replace(/\.json$/, '-grants.json'), `${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  if (canPin) execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  if (args.includes('--footprint')) {
    const r = await footprintPhase();
    mkdirSync(dirname(outFile), { recursive: true });
    const file = outFile.replace(/\.json$/, '-footprint.json');
    writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
    console.log(`\nwritten: ${file}`);
    return;
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  console.log(`nylas-sidecar benchmark on ${machine}`);
  console.log(
    canPin
      ? 'Pinned: upstream, proxies and the OTLP receiver on core 0, load generator on core 1.'
      : 'Not pinned (fewer than 2 cores or no taskset): figures are noisier.',
  );

  const sink = await startOtlpSink();
  const up = await startNode(join(here, 'upstream.js'), []);
  const upstream = `http://127.0.0.1:${(JSON.parse(up.line) as { port: number }).port}`;
  const startBare = async () => {
    const b = await startNode(join(here, 'bare-proxy.js'), [upstream]);
    return { ...b, url: `http://127.0.0.1:${(JSON.parse(b.line) as { port: number }).port}` };
  };
  const startCompared = () =>
    compareDir && beforeSink
      ? startSidecar(
          upstream,
          beforeSink.url,
          compareExtraEnv,
          join(compareDir, 'dist', 'src', 'main.js'),
        )
      : Promise.resolve(undefined);
  let bare = await startBare();
  let sidecar = await startSidecar(upstream, sink.url, sidecarExtraEnv);
  const beforeSink = compareDir ? await startOtlpSink() : undefined;
  let before = await startCompared();
  const envText = (e: Record<string, string>) =>
    Object.keys(e).length === 0
      ? ''
      : ` with ${Object.entries(e)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`;
  if (Object.keys(sidecarExtraEnv).length > 0)
    console.log(`The measured sidecar runs${envText(sidecarExtraEnv)}.`);
  if (before)
    console.log(
      `Compared with the sidecar built in ${compareDir}${envText(compareExtraEnv)}, in the same rounds.`,
    );
  const nginx = await startNginx(upstream);
  if (nginx) console.log('Reference: nginx on core 0 as well.');
  const grantPath = '/v3/grants/d2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a';
  const path = `${grantPath}/messages?limit=5`;
  type Target = 'direct' | 'bare' | 'sidecar';
  // Read from the current pair of proxy processes (restartProxies replaces them).
  const targets: Readonly<Record<Target, string>> = {
    direct: upstream,
    get bare() {
      return bare.url;
    },
    get sidecar() {
      return sidecar.proxy;
    },
  };
  const pidOf: Readonly<Partial<Record<Target, number>>> = {
    get bare() {
      return bare.pid;
    },
    get sidecar() {
      return sidecar.pid;
    },
  };
  /** Requests proxied by the sidecars (measured and compared) stopped before the last pair. */
  let proxiedByStopped = 0;
  let comparedProxiedByStopped = 0;

  /**
   * Stops the proxies (the sidecars gracefully: they flush their spans first) and starts new ones
   * for the next block of rounds. The upstream, nginx and the OTLP receivers stay.
   */
  const restartProxies = async () => {
    proxiedByStopped += await proxiedRequests(sidecar.admin);
    await stopGracefully(sidecar.child);
    if (before) {
      comparedProxiedByStopped += await proxiedRequests(before.admin);
      await stopGracefully(before.child);
    }
    await stopGracefully(bare.child);
    bare = await startBare();
    sidecar = await startSidecar(upstream, sink.url, sidecarExtraEnv);
    before = await startCompared();
  };

  // Warm-up: connection pools, and the JIT until it settles (WARM_UP_SECONDS) for the proxies;
  // again for each new pair of processes.
  console.log(
    `warming up: ${WARM_UP_SECONDS} s at saturation for each proxy, then ${WARM_UP_ROUNDS} rounds left out` +
      (PROCESSES > 1 ? `, for each of ${PROCESSES} pairs of proxy processes in turn` : ''),
  );
  await saturate(targets.direct + path, 1, 16);
  const warmUpProxies = async () => {
    for (const url of [targets.bare, targets.sidecar, before?.proxy])
      if (url) await saturate(url + path, WARM_UP_SECONDS);
  };
  await warmUpProxies();
  if (nginx) await saturate(nginx.url + path, 1, 16);
  const ref = { rps: [] as number[], cpu: [] as number[], lat: [] as Percentiles[] };
  const cmp = { rps: [] as number[], cpu: [] as number[], lat: [] as Percentiles[] };
  // The order turns by one each round, so no process is always measured first or last: the
  // compared build (--compare) and nginx turn with the others (with the rotation, a build compared
  // with itself pairs at 1.00 round by round).
  type Slot = Target | 'compare' | 'nginx';
  const slots: Slot[] = ['direct', 'sidecar', 'bare'];
  if (before) slots.push('compare');
  if (nginx) slots.push('nginx');
  const order = (r: number): Slot[] => slots.map((_, i) => slots[(i + r) % slots.length]!);

  // 1. Saturation throughput and CPU per request.
  const sat: Record<Target, number[]> = { direct: [], bare: [], sidecar: [] };
  const cpuPerReq: Record<'bare' | 'sidecar', number[]> = { bare: [], sidecar: [] };
  const receiverCpuPerReq: number[] = [];
  /** Each measured round's pair of proxy processes (0, 1, ...). */
  const processByRound: number[] = [];
  /** The warm-up rounds' CPU ratios (every pair's in turn), left out of every figure. */
  const warmUpCpuRatios: number[] = [];
  /** One alternating round; `keep` false for a warm-up round (only its CPU ratio is kept). */
  const saturationRound = async (r: number, keep: boolean) => {
    const cpu: Partial<Record<'bare' | 'sidecar', number>> = {};
    for (const t of order(r)) {
      if (t === 'nginx' || t === 'compare') {
        const other =
          t === 'nginx'
            ? { pid: nginx!.pid, url: nginx!.url, to: ref }
            : { pid: before!.pid, url: before!.proxy, to: cmp };
        const c0 = cpuSeconds(other.pid);
        const res = await saturate(other.url + path, SAT_SECONDS);
        if (keep) {
          other.to.rps.push(res.rps);
          other.to.cpu.push(((cpuSeconds(other.pid) - c0) / res.requests) * 1e6);
        }
        continue;
      }
      const pid = pidOf[t];
      const c0 = pid ? cpuSeconds(pid) : 0;
      const s0 = cpuSeconds(sink.pid);
      const res = await saturate(targets[t] + path, SAT_SECONDS);
      if (pid && (t === 'bare' || t === 'sidecar'))
        cpu[t] = ((cpuSeconds(pid) - c0) / res.requests) * 1e6;
      if (!keep) continue;
      sat[t].push(res.rps);
      if (t === 'bare' || t === 'sidecar') cpuPerReq[t].push(cpu[t]!);
      // The receiver shares core 0 with the proxies: what it takes in the sidecar's rounds is
      // time the sidecar could not run (the bare proxy's rounds export nothing).
      if (t === 'sidecar')
        receiverCpuPerReq.push(((cpuSeconds(sink.pid) - s0) / res.requests) * 1e6);
    }
    if (!keep) warmUpCpuRatios.push(cpu.sidecar! / cpu.bare!);
  };
  let turn = 0;
  for (let p = 0; p < PROCESSES; p++) {
    const rounds = ROUNDS_BY_PAIR[p]!;
    if (p > 0) {
      console.log(`pair ${p} of proxy processes done; starting pair ${p + 1}`);
      await restartProxies();
      await warmUpProxies();
    }
    for (let r = 0; r < WARM_UP_ROUNDS; r++) await saturationRound(turn++, false);
    if (WARM_UP_ROUNDS > 0) console.log(`${WARM_UP_ROUNDS} warm-up rounds done`);
    for (let r = 0; r < rounds; r++) {
      await saturationRound(turn++, true);
      processByRound.push(p);
    }
  }
  console.log('saturation done');

  // 2. Latency at a fixed 1,000 requests/s.
  const lat: Record<Target, Percentiles[]> = { direct: [], bare: [], sidecar: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of order(r)) {
      if (t === 'nginx') ref.lat.push(await fixedRate(nginx!.url + path, RATE, RATE_SECONDS));
      else if (t === 'compare')
        cmp.lat.push(await fixedRate(before!.proxy + path, RATE, RATE_SECONDS));
      else lat[t].push(await fixedRate(targets[t] + path, RATE, RATE_SECONDS));
    }
  }
  console.log('fixed-rate latency done');

  // 3. 5 MB downloads, 8 at once: throughput and peak RSS growth of the proxy.
  const dl: Record<Target, { mbPerSec: number[]; rssGrowthMb: number[] }> = {
    direct: { mbPerSec: [], rssGrowthMb: [] },
    bare: { mbPerSec: [], rssGrowthMb: [] },
    sidecar: { mbPerSec: [], rssGrowthMb: [] },
  };
  for (let r = 0; r < DOWNLOAD_ROUNDS; r++) {
    for (const t of ['direct', 'sidecar', 'bare'] as Target[]) {
      const pid = pidOf[t];
      const before = pid ? memKb(pid, 'VmRSS') : 0;
      if (pid) resetPeak(pid);
      const res = await downloads(`${targets[t]}/v3/grants/g/attachments/a/download`, 8);
      dl[t].mbPerSec.push(res.mbPerSec);
      if (pid) dl[t].rssGrowthMb.push((memKb(pid, 'VmHWM') - before) / 1024);
    }
  }
  console.log('downloads done');

  // 4. Soak: RSS of the sidecar over a run at 1,000 requests/s, sampled every 5 s. V8 sizes its
  // heap to the load in the first seconds, so growth is also given from the end of a warm-up
  // (a fifth of the run, at most a minute): that is the figure a leak would move.
  const warmSeconds = Math.min(60, soakSeconds / 5);
  const soakStartKb = memKb(sidecar.pid, 'VmRSS');
  const rssSamples: { t: number; kb: number }[] = [];
  const soakT0 = performance.now();
  const sampler = setInterval(
    () =>
      rssSamples.push({ t: (performance.now() - soakT0) / 1000, kb: memKb(sidecar.pid, 'VmRSS') }),
    5_000,
  );
  const soak = await fixedRate(targets.sidecar + path, RATE, soakSeconds);
  clearInterval(sampler);
  const soakEndKb = memKb(sidecar.pid, 'VmRSS');
  const soakWarmKb = rssSamples.find((x) => x.t >= warmSeconds)?.kb ?? soakStartKb;
  console.log('soak done');

  // Every exemplar valid? The receiver keeps the spans from here on; after a short run at the
  // test rate and a few slower calls on other routes, each latency exemplar set during them must
  // name a span the receiver got, with the same trace id and the same duration, and sit in its
  // bucket.
  const sidecarPeakRssMb = memKb(sidecar.pid, 'VmHWM') / 1024;
  await sink.record();
  const exemplarsFrom = Date.now() / 1000;
  await fixedRate(targets.sidecar + path, RATE, EXEMPLAR_SECONDS);
  // Then a few slower calls on three routes, so that several series and buckets hold one.
  for (const route of ['messages', 'threads', 'events'])
    await Promise.all(
      [0, 70, 180, 350, 700].map((ms) =>
        fetch(`${targets.sidecar}${grantPath}/${route}?delay_ms=${ms}`).then((r) =>
          r.arrayBuffer(),
        ),
      ),
    );
  const exemplars = (await scrapeExemplars(sidecar.admin)).filter(
    (e) => e.timestamp >= exemplarsFrom,
  );

  // Every span exported? The sidecar's own request count, then SIGTERM (which flushes the spans
  // it still holds), then the receiver's span count.
  const requestsProxied = proxiedByStopped + (await proxiedRequests(sidecar.admin));
  await stopGracefully(sidecar.child);
  const received = await sink.count();
  const spansById = new Map(
    (await sink.recorded()).map(([id, traceId, seconds]) => [id, { traceId, seconds }]),
  );
  const mismatched = exemplars.flatMap((e) => exemplarProblem(e, spansById.get(e.spanId)) ?? []);
  const beforeSpans =
    before && beforeSink
      ? comparedProxiedByStopped + (await proxiedRequests(before.admin))
      : undefined;
  if (before) await stopGracefully(before.child);
  const beforeReceived = beforeSink ? await beforeSink.count() : undefined;
  console.log('span count done');

  // 5. /metrics scrape with 50,000 polled grants and traffic on 100 routes.
  // A failure here (the poll not finishing) must not throw away the rounds measured above.
  const scrape = await scrapeCost(sink.url).catch((err: Error) => {
    console.log(`scrape not measured: ${err.message}`);
    return { median: NaN, max: NaN, bytes: 0 };
  });
  console.log('scrape done');

  const ms = (xs: Percentiles[], k: 'p50' | 'p99' | 'p999') => median(xs.map((x) => x[k]));
  // Differences and ratios are taken per round (neighbouring measurements), then the median.
  const added = (k: 'p50' | 'p99' | 'p999', base: Target) =>
    median(lat.sidecar.map((x, i) => x[k] - lat[base][i]![k]));
  const result = {
    date: new Date().toISOString(),
    machine,
    pinned: canPin,
    rounds: ROUNDS,
    warm_up_seconds: WARM_UP_SECONDS,
    /**
     * Saturation rounds run before the measured ones (by each pair of proxy processes) and left
     * out of every figure; their CPU ratios, every pair's in turn.
     */
    warm_up_rounds: { rounds: WARM_UP_ROUNDS, cpu_ratio: warmUpCpuRatios },
    /** Pairs of proxy processes the saturation rounds were shared among, one after the other. */
    processes: PROCESSES,
    /** Each measured saturation round's pair (0, 1, ...), in the order of the rounds. */
    process_by_round: processByRound,
    /** Every measured saturation round's CPU per request, in microseconds, by process. */
    cpu_us_per_request_by_round: {
      bare: cpuPerReq.bare,
      sidecar: cpuPerReq.sidecar,
      ...(before ? { compared: cmp.cpu } : {}),
    },
    saturation_rps: {
      direct: median(sat.direct),
      bare: median(sat.bare),
      sidecar: median(sat.sidecar),
    },
    cpu_us_per_request: { bare: median(cpuPerReq.bare), sidecar: median(cpuPerReq.sidecar) },
    /** The OTLP receiver's CPU (on core 0, with the proxies) per request of the sidecar's rounds. */
    otlp_receiver_cpu_us_per_sidecar_request: median(receiverCpuPerReq),
    latency_ms_at_1000rps: Object.fromEntries(
      (Object.keys(lat) as Target[]).map((t) => [
        t,
        { p50: ms(lat[t], 'p50'), p99: ms(lat[t], 'p99'), p999: ms(lat[t], 'p999') },
      ]),
    ),
    added_latency_ms: {
      p50: added('p50', 'direct'),
      p99: added('p99', 'direct'),
      p999: added('p999', 'direct'),
    },
    /** nginx in the same place, when installed: what any proxy costs on this machine. */
    reference_nginx: nginx
      ? {
          saturation_rps: median(ref.rps),
          cpu_us_per_request: median(ref.cpu),
          latency_ms_at_1000rps: {
            p50: ms(ref.lat, 'p50'),
            p99: ms(ref.lat, 'p99'),
            p999: ms(ref.lat, 'p999'),
          },
          added_latency_ms: {
            p50: median(ref.lat.map((x, i) => x.p50 - lat.direct[i]!.p50)),
            p99: median(ref.lat.map((x, i) => x.p99 - lat.direct[i]!.p99)),
            p999: median(ref.lat.map((x, i) => x.p999 - lat.direct[i]!.p999)),
          },
        }
      : null,
    /** What the instrumentation adds over an uninstrumented proxy in the same place. */
    added_latency_over_bare_proxy_ms: {
      p50: added('p50', 'bare'),
      p99: added('p99', 'bare'),
      p999: added('p999', 'bare'),
    },
    download_5mb_x8: Object.fromEntries(
      (Object.keys(dl) as Target[]).map((t) => [
        t,
        {
          mb_per_s: median(dl[t].mbPerSec),
          peak_rss_growth_mb: dl[t].rssGrowthMb.length ? median(dl[t].rssGrowthMb) : null,
        },
      ]),
    ),
    soak: {
      seconds: soakSeconds,
      warm_up_seconds: warmSeconds,
      rss_start_mb: soakStartKb / 1024,
      rss_after_warm_up_mb: soakWarmKb / 1024,
      rss_end_mb: soakEndKb / 1024,
      rss_max_mb: Math.max(soakEndKb, ...rssSamples.map((x) => x.kb)) / 1024,
      growth_pct: ((soakEndKb - soakStartKb) / soakStartKb) * 100,
      growth_after_warm_up_pct: ((soakEndKb - soakWarmKb) / soakWarmKb) * 100,
      p50_ms: soak.p50,
      p99_ms: soak.p99,
      errors: soak.errors,
    },
    sidecar_peak_rss_mb: sidecarPeakRssMb,
    scrape_ms: scrape,
    /**
     * Spans counted at the receiver after the sidecars' SIGTERM (each pair's, and the last's at
     * the end), against the requests they proxied.
     */
    spans: {
      requests_proxied: requestsProxied,
      spans_received: received.spans,
      batches_received: received.batches,
      missing: requestsProxied - received.spans,
    },
    /** Latency exemplars set during a short run at the test rate, checked against the spans. */
    exemplars: {
      checked: exemplars.length,
      valid: exemplars.length - mismatched.length,
      problems: [
        ...(exemplars.length === 0 ? ['no exemplar was set during the run'] : []),
        ...mismatched,
      ].slice(0, 10),
    },
    /**
     * Per-round figures (neighbouring measurements, same round) across the alternating rounds:
     * what the targets are judged on.
     */
    over_bare_proxy_by_round: {
      p50_ms: spread(lat.sidecar.map((x, i) => x.p50 - lat.bare[i]!.p50)),
      p99_ms: spread(lat.sidecar.map((x, i) => x.p99 - lat.bare[i]!.p99)),
      p999_ms: spread(lat.sidecar.map((x, i) => x.p999 - lat.bare[i]!.p999)),
      cpu_ratio: spread(cpuPerReq.sidecar.map((x, i) => x / cpuPerReq.bare[i]!)),
      throughput_ratio: spread(sat.sidecar.map((x, i) => x / sat.bare[i]!)),
    },
    /** With --compare: the other build's sidecar, in the same rounds. */
    compared_build: before
      ? {
          dir: compareDir,
          p50_over_bare_ms: spread(cmp.lat.map((x, i) => x.p50 - lat.bare[i]!.p50)),
          p99_over_bare_ms: spread(cmp.lat.map((x, i) => x.p99 - lat.bare[i]!.p99)),
          cpu_ratio_over_bare: spread(cmp.cpu.map((x, i) => x / cpuPerReq.bare[i]!)),
          throughput_ratio_over_bare: spread(cmp.rps.map((x, i) => x / sat.bare[i]!)),
          requests_proxied: beforeSpans,
          spans_received: beforeReceived?.spans,
        }
      : null,
    ratios: {
      throughput_sidecar_over_direct: median(sat.sidecar) / median(sat.direct),
      cpu_sidecar_over_bare_proxy: median(cpuPerReq.sidecar.map((x, i) => x / cpuPerReq.bare[i]!)),
      p50_sidecar_over_direct: ms(lat.sidecar, 'p50') / ms(lat.direct, 'p50'),
      p99_sidecar_over_direct: ms(lat.sidecar, 'p99') / ms(lat.direct, 'p99'),
      download_mbps_sidecar_over_direct: median(dl.sidecar.mbPerSec) / median(dl.direct.mbPerSec),
    },
  };
  printTable(result);
  printRounds(result);
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  // After the other phases' processes are gone: fresh processes of its own, nothing else running.
  const footprint = await footprintPhase();
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify({ ...result, footprint }, null, 2)}\n`);
  console.log(`\nwritten: ${outFile}`);
}

async function scrapeCost(otlp: string) {
  const { createSimulator } = await import('../src/simulator/index.js');
  const sim = createSimulator({
    grants: 50_000,
    invalidGrants: 1_500,
    grantsRateLimitPerSecond: 50,
  });
  const simUrl = await sim.start(0, '127.0.0.1');
  const sc = await startSidecar(simUrl, otlp, {
    NYLAS_API_KEY: 'nylas-sim-api-key',
    SIDECAR_POLL_GRANTS: '0 0 1 1 *',
    // The census counts every grant (nylas_grants); the invalid-grants run alone sees 1,500.
    SIDECAR_POLL_GRANTS_CENSUS: '0 0 1 1 *',
    SIDECAR_POLL_STATUS_PAGE: '0 0 1 1 *',
    NYLAS_STATUS_PAGE_URL: simUrl,
  });
  try {
    // The grants poller runs once at start; wait for its 50,000.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const text = await (await fetch(`${sc.admin}/metrics`)).text();
      const sum = [...text.matchAll(/^nylas_grants\{[^}]*\} (\d+)/gm)].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
      if (sum >= 50_000) break;
      if (Date.now() > deadline) throw new Error(`the grants poll did not finish (saw ${sum})`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const { V3_TEMPLATES } = await import('../src/proxy/route-table.js');
    const paths = V3_TEMPLATES.slice(0, 100).map((t) => t.replace(/\{[a-z_0-9]+\}/g, 'x1'));
    for (const p of paths)
      for (let i = 0; i < 3; i++) await fetch(sc.proxy + p).then((r) => r.arrayBuffer());
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 21; i++) {
      const t = performance.now();
      const body = await (await fetch(`${sc.admin}/metrics`)).text();
      times.push(performance.now() - t);
      bytes = body.length;
    }
    times.shift();
    return { median: median(times), max: Math.max(...times), bytes };
  } finally {
    sc.child.kill('SIGTERM');
    await sim.stop();
  }
}

type SpreadOut = ReturnType<typeof spread>;
function printRounds(r: {
  processes: number;
  process_by_round: number[];
  over_bare_proxy_by_round: Record<string, SpreadOut>;
  compared_build: Record<string, unknown> | null;
  spans: { requests_proxied: number; spans_received: number; missing: number };
  exemplars: { checked: number; valid: number; problems: string[] };
}) {
  const line = (name: string, x: SpreadOut, d: number, unit: string, target: string) =>
    console.log(
      `  ${name.padEnd(22)} median ${fmt(x.median, d)}${unit}  [95% CI ${fmt(x.ci95[0], d)} to ${fmt(x.ci95[1], d)}]  min ${fmt(x.min, d)}  max ${fmt(x.max, d)}  (${x.rounds} rounds; target ${target})`,
    );
  const o = r.over_bare_proxy_by_round;
  console.log('\nsidecar over the bare proxy, per round (same-run neighbours):');
  line('p50 at 1,000 req/s', o.p50_ms!, 3, ' ms', '<= +0.100 ms');
  line('p99 at 1,000 req/s', o.p99_ms!, 3, ' ms', '<= +0.500 ms');
  line('p99.9 at 1,000 req/s', o.p999_ms!, 3, ' ms', 'none');
  line('CPU per request', o.cpu_ratio!, 2, '×', '<= 1.10×');
  line('throughput at saturation', o.throughput_ratio!, 2, '×', '>= 0.90×');
  if (r.processes > 1) {
    // Each pair's median over its own rounds: how far what a process is dealt moves the figure.
    const byPair = (k: 'cpu_ratio' | 'throughput_ratio') =>
      [...new Set(r.process_by_round)]
        .map((p) => fmt(spread(o[k]!.values.filter((_, i) => r.process_by_round[i] === p)).median))
        .join(', ');
    console.log(
      `  by pair of proxy processes, median: CPU ${byPair('cpu_ratio')}×; throughput ${byPair('throughput_ratio')}×`,
    );
  }
  const c = r.compared_build as Record<string, SpreadOut> | null;
  if (c) {
    console.log(`the compared build over the bare proxy, same rounds:`);
    line('p50 at 1,000 req/s', c.p50_over_bare_ms!, 3, ' ms', '-');
    line('p99 at 1,000 req/s', c.p99_over_bare_ms!, 3, ' ms', '-');
    line('CPU per request', c.cpu_ratio_over_bare!, 2, '×', '-');
    line('throughput at saturation', c.throughput_ratio_over_bare!, 2, '×', '-');
  }
  const sp = r.spans;
  console.log(
    `spans: ${sp.spans_received} received for ${sp.requests_proxied} requests proxied (${sp.missing} missing)`,
  );
  const ex = r.exemplars;
  console.log(
    `exemplars: ${ex.valid} of ${ex.checked} set in a ${EXEMPLAR_SECONDS} s run and 15 slower calls name a received span with the same trace id and duration, in their bucket` +
      ex.problems.map((p) => `\n  ${p}`).join(''),
  );
}

function printTable(r: {
  saturation_rps: Record<string, number>;
  cpu_us_per_request: Record<string, number>;
  latency_ms_at_1000rps: Record<string, { p50: number; p99: number; p999: number }>;
  added_latency_ms: { p50: number; p99: number; p999: number };
  added_latency_over_bare_proxy_ms: { p50: number; p99: number; p999: number };
  reference_nginx: {
    saturation_rps: number;
    cpu_us_per_request: number;
    added_latency_ms: { p50: number; p99: number; p999: number };
  } | null;
  download_5mb_x8: Record<string, { mb_per_s: number; peak_rss_growth_mb: number | null }>;
  soak: {
    seconds: number;
    warm_up_seconds: number;
    growth_pct: number;
    growth_after_warm_up_pct: number;
    rss_start_mb: number;
    rss_after_warm_up_mb: number;
    rss_end_mb: number;
  };
  sidecar_peak_rss_mb: number;
  scrape_ms: { median: number; max: number; bytes: number };
  otlp_receiver_cpu_us_per_sidecar_request: number;
  ratios: Record<string, number>;
}) {
  const rows: [string, string, string, string][] = [['', 'direct', 'bare proxy', 'sidecar']];
  const row = (name: string, f: (t: string) => string) =>
    rows.push([name, f('direct'), f('bare'), f('sidecar')]);
  row('throughput at saturation (req/s)', (t) => fmt(r.saturation_rps[t]!, 0));
  row('CPU per request (µs)', (t) => (t === 'direct' ? '-' : fmt(r.cpu_us_per_request[t]!, 1)));
  row('p50 at 1,000 req/s (ms)', (t) => fmt(r.latency_ms_at_1000rps[t]!.p50, 3));
  row('p99 at 1,000 req/s (ms)', (t) => fmt(r.latency_ms_at_1000rps[t]!.p99, 3));
  row('p99.9 at 1,000 req/s (ms)', (t) => fmt(r.latency_ms_at_1000rps[t]!.p999, 3));
  row('5 MB downloads ×8 (MB/s)', (t) => fmt(r.download_5mb_x8[t]!.mb_per_s, 0));
  row('peak RSS growth, 8 downloads (MB)', (t) => {
    const v = r.download_5mb_x8[t]!.peak_rss_growth_mb;
    return v === null ? '-' : fmt(v, 1);
  });
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((x) => x[i]!.length)));
  console.log('');
  for (const x of rows)
    console.log(x.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
  console.log('');
  console.log(
    `added latency (sidecar - direct): p50 ${fmt(r.added_latency_ms.p50, 3)} ms, p99 ${fmt(r.added_latency_ms.p99, 3)} ms, p99.9 ${fmt(r.added_latency_ms.p999, 3)} ms`,
  );
  const n = r.reference_nginx;
  if (n)
    console.log(
      `reference nginx: ${fmt(n.saturation_rps, 0)} req/s at saturation, CPU ${fmt(n.cpu_us_per_request, 1)} µs per request, added latency p50 ${fmt(n.added_latency_ms.p50, 3)} ms, p99 ${fmt(n.added_latency_ms.p99, 3)} ms, p99.9 ${fmt(n.added_latency_ms.p999, 3)} ms`,
    );
  console.log(
    `OTLP receiver: ${fmt(r.otlp_receiver_cpu_us_per_sidecar_request, 1)} µs of CPU per request in the sidecar's saturation rounds, on the proxies' core`,
  );
  const o = r.added_latency_over_bare_proxy_ms;
  console.log(
    `added latency (sidecar - bare proxy): p50 ${fmt(o.p50, 3)} ms, p99 ${fmt(o.p99, 3)} ms, p99.9 ${fmt(o.p999, 3)} ms`,
  );
  console.log(
    `soak ${r.soak.seconds} s at 1,000 req/s: RSS ${fmt(r.soak.rss_start_mb, 1)} -> ${fmt(r.soak.rss_after_warm_up_mb, 1)} MB after ${fmt(r.soak.warm_up_seconds, 0)} s -> ${fmt(r.soak.rss_end_mb, 1)} MB at the end (${fmt(r.soak.growth_pct, 1)}% from the start, ${fmt(r.soak.growth_after_warm_up_pct, 1)}% after warm-up); sidecar peak RSS ${fmt(r.sidecar_peak_rss_mb, 1)} MB`,
  );
  console.log(
    `/metrics with 50,000 polled grants and 100 routes: median ${fmt(r.scrape_ms.median, 1)} ms, max ${fmt(r.scrape_ms.max, 1)} ms (${r.scrape_ms.bytes} bytes)`,
  );
  console.log(
    'ratios:',
    Object.entries(r.ratios)
      .map(([k, v]) => `${k} ${fmt(v, 2)}`)
      .join(', '),
  );
}

main().catch((err: unknown) => {
  console.error('benchmark failed:', err);
  process.exit(1);
});
