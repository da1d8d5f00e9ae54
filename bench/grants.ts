// `npm run bench -- --grants N`: the grants pollers against a simulator holding N grants (2 %
// invalid), the previous design and the current one side by side, each sidecar against its own
// simulator so that neither eats into the other's rate limit. Real time, loopback only.
//
// - old: the grants poller of the commit before the split (`--grants-old-ref`, default b5f2df8),
//   built from git into a temporary directory: every grant, page by page, every 5 minutes;
// - new: this build: the invalid-grants run (grant_status=invalid) every 5 minutes and the census
//   (counted, not read) hourly; both start at once, as at a sidecar's start.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/ports.js';

interface Started {
  child: ChildProcess;
  pid: number;
  url: string;
}

interface PollerView {
  name: string;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  lastResult: string | null;
  lastErrorCode: string | null;
}

/** What one side measured. */
export interface GrantsSideResult {
  invalid_run_seconds: number | null;
  census_seconds: number | null;
  census_result: string;
  grants_requests: number;
  grants_max_per_second: number;
  grants_max_share_of_limit_pct: number;
  rate_limited_429: number;
  peak_rss_mb: number;
  metrics_ms: { median: number; p95: number; max: number; scrapes: number };
  invalid_series: number;
}

function start(
  cmd: string[],
  env: Record<string, string>,
  ready: RegExp,
  children: ChildProcess[],
): Promise<ChildProcess> {
  const child = spawn(process.execPath, cmd, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.resume();
    child.once('exit', (code) => reject(new Error(`${cmd[0]} exited with ${code}`)));
  });
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

const seconds = (p: PollerView | undefined) =>
  p?.lastSuccessAt && p.lastRunAt
    ? (Date.parse(p.lastSuccessAt) - Date.parse(p.lastRunAt)) / 1000
    : null;

/** Builds `ref` of the repository at `root` into a temporary directory; returns its main.js. */
export function buildOld(root: string, ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nylas-sidecar-old-'));
  const archive = execFileSync('git', [
    '-C',
    root,
    'archive',
    ref,
    'src',
    'bench',
    'tsconfig.json',
    'tsconfig.build.json',
    'package.json',
  ]);
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(dir, 'tsconfig.build.json'),
    ],
    { stdio: 'inherit' },
  );
  return join(dir, 'dist', 'src', 'main.js');
}

async function side(
  root: string,
  grants: number,
  mode: 'old' | 'new',
  children: ChildProcess[],
  main: string,
): Promise<{ sidecar: Started; sim: Started }> {
  const simPort = await freePort();
  const simChild = await start(
    [
      join(root, 'dist', 'src', 'simulator', 'cli.js'),
      '--grants',
      String(grants),
      '--invalid-grants',
      String(Math.round(grants * 0.02)),
      '--port',
      String(simPort),
    ],
    {},
    /listening on/,
    children,
  );
  const sim = { child: simChild, pid: simChild.pid!, url: `http://127.0.0.1:${simPort}` };
  const adminPort = await freePort();
  const env: Record<string, string> = {
    SIDECAR_ROLE: 'pollers',
    NYLAS_API_URI: sim.url,
    NYLAS_API_KEY: 'nylas-sim-api-key',
    NYLAS_STATUS_PAGE_URL: sim.url,
    SIDECAR_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    SIDECAR_POLL_WEBHOOKS: 'off',
    SIDECAR_POLL_STATUS_PAGE: 'off',
    SIDECAR_POLL_ACCOUNTS: 'off',
    SIDECAR_LOG_LEVEL: 'warn',
    SIDECAR_POLL_GRANTS: '*/5 * * * *',
    ...(mode === 'new' ? { SIDECAR_POLL_GRANTS_CENSUS: '7 * * * *' } : {}),
  };
  const sidecarChild = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(sidecarChild);
  return {
    sim,
    sidecar: { child: sidecarChild, pid: sidecarChild.pid!, url: `http://127.0.0.1:${adminPort}` },
  };
}

async function pollers(admin: string): Promise<PollerView[]> {
  const res = await fetch(`${admin}/status`);
  const body = (await res.json()) as { pollers: PollerView[] };
  return body.pollers;
}

/** Runs both sides until the new census finished (or `maxSeconds`), scraping /metrics as it goes. */
export async function runGrantsPhase(opts: {
  root: string;
  grants: number;
  maxSeconds: number;
  oldMain: string;
}): Promise<{ grants: number; old: GrantsSideResult; new: GrantsSideResult }> {
  const children: ChildProcess[] = [];
  const kill = () => children.forEach((c) => c.kill('SIGKILL'));
  process.on('exit', kill);
  try {
    const sides = {
      old: await side(opts.root, opts.grants, 'old', children, opts.oldMain),
      new: await side(
        opts.root,
        opts.grants,
        'new',
        children,
        join(opts.root, 'dist', 'src', 'main.js'),
      ),
    };
    const scrapes: Record<'old' | 'new', number[]> = { old: [], new: [] };
    const started = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 2000));
      for (const k of ['old', 'new'] as const) {
        // The first 15 s are start-up (modules, JIT): what a steady scrape costs comes after.
        if (Date.now() - started < 15_000) continue;
        const t0 = performance.now();
        try {
          const res = await fetch(`${sides[k].sidecar.url}/metrics`);
          await res.arrayBuffer();
          scrapes[k].push(performance.now() - t0);
        } catch {
          // not listening yet
        }
      }
      const elapsed = (Date.now() - started) / 1000;
      const census = (await pollers(sides.new.sidecar.url).catch(() => [])).find(
        (p) => p.name === 'grants_census',
      );
      const old = (await pollers(sides.old.sidecar.url).catch(() => [])).find(
        (p) => p.name === 'grants',
      );
      if ((census?.lastResult && old?.lastResult) || elapsed > opts.maxSeconds) break;
      if (Math.round(elapsed) % 60 < 2)
        console.log(`  grants phase: ${Math.round(elapsed)} s, waiting for both first runs to end`);
    }
    const result = async (k: 'old' | 'new'): Promise<GrantsSideResult> => {
      const views = await pollers(sides[k].sidecar.url);
      const state = (await (await fetch(`${sides[k].sim.url}/_simulator/state`)).json()) as {
        stats: { grantsRequests: number; grantsMaxPerSecond: number; rateLimited: number };
      };
      const metricsText = await (await fetch(`${sides[k].sidecar.url}/metrics`)).text();
      const s = [...scrapes[k]].sort((a, b) => a - b);
      // The old build has one grants poller: its full listing is both its census and its
      // invalid-grants refresh.
      const census = views.find((p) => p.name === (k === 'old' ? 'grants' : 'grants_census'));
      const invalidRun = views.find((p) => p.name === 'grants');
      return {
        invalid_run_seconds: seconds(invalidRun),
        census_seconds: seconds(census),
        census_result: census?.lastResult
          ? `${census.lastResult}${census.lastErrorCode ? ` (${census.lastErrorCode})` : ''}`
          : 'still running',
        grants_requests: state.stats.grantsRequests,
        grants_max_per_second: state.stats.grantsMaxPerSecond,
        grants_max_share_of_limit_pct: (state.stats.grantsMaxPerSecond / 50) * 100,
        rate_limited_429: state.stats.rateLimited,
        peak_rss_mb: peakRssMb(sides[k].sidecar.pid),
        metrics_ms: {
          median: s[Math.floor(s.length / 2)] ?? NaN,
          p95: s[Math.floor(s.length * 0.95)] ?? NaN,
          max: s[s.length - 1] ?? NaN,
          scrapes: s.length,
        },
        invalid_series: (metricsText.match(/^nylas_grant_invalid\{/gm) ?? []).length,
      };
    };
    return { grants: opts.grants, old: await result('old'), new: await result('new') };
  } finally {
    kill();
    process.off('exit', kill);
  }
}

/** Prints the two sides as a table. */
export function printGrantsPhase(r: Awaited<ReturnType<typeof runGrantsPhase>>): void {
  const f = (v: number | null, d = 1) => (v === null || Number.isNaN(v) ? '-' : v.toFixed(d));
  const rows: Array<[string, (s: GrantsSideResult) => string, string]> = [
    ['invalid grants refreshed in (s)', (s) => f(s.invalid_run_seconds), '< 30'],
    ['census in (s)', (s) => `${f(s.census_seconds)} ${s.census_result}`, '< 600'],
    ['Grants API requests', (s) => String(s.grants_requests), ''],
    [
      'busiest second (req/s, % of 50)',
      (s) => `${s.grants_max_per_second} (${f(s.grants_max_share_of_limit_pct, 0)} %)`,
      '< 20 %',
    ],
    ['429s', (s) => String(s.rate_limited_429), '0'],
    ['sidecar peak RSS (MB)', (s) => f(s.peak_rss_mb), '< 150'],
    [
      '/metrics p50 / p95 / max (ms)',
      (s) =>
        `${f(s.metrics_ms.median)} / ${f(s.metrics_ms.p95)} / ${f(s.metrics_ms.max)} (${s.metrics_ms.scrapes})`,
      '< 50',
    ],
    ['nylas_grant_invalid series', (s) => String(s.invalid_series), '<= 1000'],
  ];
  console.log(`\ngrants pollers against ${r.grants.toLocaleString('en')} grants (2 % invalid):`);
  console.log(`${'figure'.padEnd(34)}${'old'.padEnd(34)}${'new'.padEnd(34)}goal`);
  for (const [name, get, goal] of rows)
    console.log(`${name.padEnd(34)}${get(r.old).padEnd(34)}${get(r.new).padEnd(34)}${goal}`);
}
