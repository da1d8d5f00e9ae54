// `npm run stress`: adversarial sweeps at full size against the built sidecar, with
// the figures printed (not part of `npm test`: it takes about two minutes and measures time).
// Loopback only; every phase is bounded in count and in time.
//
//   npm run stress -- [--only slow|sigterm|series]
//
// 1. slow clients: 300 uploads promising 100,000 bytes and sending one byte a second, plus 50
//    clients sending their headers one byte a second, while a plain GET runs back to back;
// 2. SIGTERM: 4 back-to-back keep-alive clients, SIGTERM, 5 rounds: requests cut, time to exit;
// 3. series: every route template with every method, under three fault mixes of the simulator:
//    series count, exposition size, scrape time, GET latency while scraping.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSimulator } from '../src/simulator/index.js';
import { V2_TEMPLATES, V3_TEMPLATES } from '../src/proxy/route-table.js';
import { benchSidecarEnv } from './sidecar-env.js';
import { freePort } from '../test/helpers/ports.js';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, '..', 'src', 'main.js');
const UPSTREAM = join(here, 'upstream.js');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (v: number) => `${v.toFixed(1)} ms`;

/** The bench's fake Nylas (reads POST bodies whole, answers at once) as a child process. */
async function startUpstream(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const line = await new Promise<string>((resolve) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
  });
  return { url: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, child };
}

interface SidecarProc {
  proxy: string;
  admin: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** The built sidecar as a child process, ready once /readyz answers 200. */
async function startSidecar(env: Record<string, string>): Promise<SidecarProc> {
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      ...benchSidecarEnv({ proxyPort, adminPort }),
      SIDECAR_LOG_LEVEL: 'error',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const admin = `http://127.0.0.1:${adminPort}`;
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${admin}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return { proxy: `http://127.0.0.1:${proxyPort}`, admin, child, exited };
    await sleep(50);
  }
  throw new Error('the sidecar did not become ready');
}

async function stopSidecar(s: SidecarProc): Promise<void> {
  s.child.kill('SIGTERM');
  await s.exited;
  children.delete(s.child);
}

/** One GET with node:http through `agent`; resolves status and milliseconds taken. */
function timedGet(url: string, agent: Agent): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, ms: performance.now() - t0 }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.setTimeout(30_000, () => req.destroy());
    req.end();
  });
}

/** Sample lines of one scrape of /metrics, and how long the scrape took. */
async function scrapeOnce(admin: string): Promise<{ ms: number; bytes: number; text: string }> {
  const t0 = performance.now();
  const text = await (await fetch(`${admin}/metrics`)).text();
  return { ms: performance.now() - t0, bytes: Buffer.byteLength(text), text };
}

function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    if (line[name.length] !== '{' && line[name.length] !== ' ') continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** A raw socket that remembers when it first got an answer and when it closed. */
function rawClient(url: string, head: string) {
  const { hostname, port } = new URL(url);
  const t0 = performance.now();
  const sock: Socket = connect(Number(port), hostname, () => sock.write(head));
  const st = { answer: '', answeredMs: NaN, closedMs: NaN, sent: 0 };
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => {
    if (st.answer === '') st.answeredMs = performance.now() - t0;
    st.answer += d;
  });
  sock.on('error', () => undefined);
  sock.on('close', () => (st.closedMs = performance.now() - t0));
  return { sock, st };
}

async function slowClients(): Promise<void> {
  console.log('\n== slow clients: 300 trickling uploads, 50 trickling header senders, a GET loop');
  const up = await startUpstream();
  const sc = await startSidecar({ NYLAS_API_URI: up.url, SIDECAR_UPSTREAM_TIMEOUT_MS: '2000' });
  const uploads = Array.from({ length: 300 }, () =>
    rawClient(
      sc.proxy,
      'POST /v3/grants/g/messages/send HTTP/1.1\r\nHost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 100000\r\n\r\n',
    ),
  );
  const headers = Array.from({ length: 50 }, () =>
    rawClient(sc.proxy, 'GET /v3/grants HTTP/1.1\r\nHost: x\r\nX-Slow: '),
  );
  const trickle = setInterval(() => {
    for (const c of [...uploads, ...headers]) {
      if (!c.sock.destroyed && c.sock.writable) {
        c.sock.write('x');
        c.st.sent++;
      }
    }
  }, 1000);
  await sleep(500);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const gets: { status: number; ms: number }[] = [];
  const until = performance.now() + 10_000;
  while (performance.now() < until) gets.push(await timedGet(`${sc.proxy}/v3/grants`, agent));
  agent.destroy();
  // Header senders are cut at SIDECAR_HEADERS_TIMEOUT_MS (default 30 s); wait up to 45 s.
  const deadline = performance.now() + 35_000;
  while (performance.now() < deadline && headers.some((h) => Number.isNaN(h.st.closedMs)))
    await sleep(250);
  clearInterval(trickle);
  const text = (await scrapeOnce(sc.admin)).text;
  const answered408 = uploads.filter((u) => u.st.answer.startsWith('HTTP/1.1 408'));
  const cutHeaders = headers.filter((h) => !Number.isNaN(h.st.closedMs));
  const okGets = gets.filter((g) => g.status === 200);
  console.log(
    `GET /v3/grants while they ran: ${gets.length} requests, ${okGets.length} answered 200; ` +
      `p50 ${ms(
        pct(
          gets.map((g) => g.ms),
          50,
        ),
      )}, p99 ${ms(
        pct(
          gets.map((g) => g.ms),
          99,
        ),
      )}, max ${ms(
        pct(
          gets.map((g) => g.ms),
          100,
        ),
      )}`,
  );
  console.log(
    `uploads answered 408: ${answered408.length} of 300, after ${ms(
      pct(
        answered408.map((u) => u.st.answeredMs),
        0,
      ),
    )} .. ${ms(
      pct(
        answered408.map((u) => u.st.answeredMs),
        100,
      ),
    )} ` +
      `(bytes sent by then: at most ${Math.max(0, ...uploads.map((u) => u.st.sent))} of 100000)`,
  );
  const statuses = new Map<string, number>();
  for (const u of uploads) {
    const line =
      u.st.answer === '' ? 'no answer' : u.st.answer.slice(0, u.st.answer.indexOf('\r\n'));
    statuses.set(line, (statuses.get(line) ?? 0) + 1);
  }
  console.log(
    `uploads' answers: ${[...statuses].map(([l, n]) => `${n} x ${l}`).join(', ')} ` +
      '(504: waited longer than the upstream timeout for one of the 256 upload connections)',
  );
  console.log(
    `header senders cut: ${cutHeaders.length} of 50, after ${ms(
      pct(
        cutHeaders.map((h) => h.st.closedMs),
        0,
      ),
    )} .. ${ms(
      pct(
        cutHeaders.map((h) => h.st.closedMs),
        100,
      ),
    )}; ` +
      `answered 408: ${cutHeaders.filter((h) => h.st.answer.startsWith('HTTP/1.1 408')).length}`,
  );
  console.log(
    `counted: nylas_api_requests_total{code="408",error_type="client_timeout"} = ${sampleValue(text, 'nylas_api_requests_total', { code: '408', error_type: 'client_timeout' })}`,
  );
  for (const c of [...uploads, ...headers]) c.sock.destroy();
  await stopSidecar(sc);
  up.child.kill('SIGTERM');
}

async function sigterm(): Promise<void> {
  console.log('\n== SIGTERM: 4 back-to-back keep-alive clients, SIDECAR_SHUTDOWN_GRACE_MS=4000');
  const up = await startUpstream();
  let cutTotal = 0;
  let servedTotal = 0;
  const exitMs: number[] = [];
  for (let round = 0; round < 5; round++) {
    const sc = await startSidecar({ NYLAS_API_URI: up.url, SIDECAR_SHUTDOWN_GRACE_MS: '4000' });
    let stop = false;
    let cut = 0;
    let served = 0;
    let closing = 0;
    const client = async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      for (;;) {
        const r = await new Promise<'ok' | 'close' | 'refused' | 'cut'>((resolve) => {
          const req = request(`${sc.proxy}/v3/grants/g/messages`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.headers.connection === 'close' ? 'close' : 'ok'));
            res.on('error', () => resolve('cut'));
          });
          req.on('error', (e: NodeJS.ErrnoException) =>
            resolve(e.code === 'ECONNREFUSED' ? 'refused' : 'cut'),
          );
          req.end();
        });
        if (r === 'ok' || r === 'close') served++;
        if (r === 'close') closing++;
        if (r === 'cut') cut++;
        if (r === 'refused' || r === 'cut' || (r === 'close' && stop)) break;
      }
      agent.destroy();
    };
    const clients = Array.from({ length: 4 }, () => client());
    await sleep(1500);
    stop = true;
    const t0 = performance.now();
    sc.child.kill('SIGTERM');
    await sc.exited;
    exitMs.push(performance.now() - t0);
    children.delete(sc.child);
    await Promise.all(clients);
    cutTotal += cut;
    servedTotal += served;
    console.log(
      `round ${round + 1}: ${served} requests served, ${closing} answered Connection: close, ${cut} cut; exit ${ms(exitMs.at(-1)!)} after SIGTERM`,
    );
  }
  console.log(
    `total: ${servedTotal} served, ${cutTotal} cut; SIGTERM to exit p50 ${ms(pct(exitMs, 50))}, max ${ms(pct(exitMs, 100))} (grace 4000 ms)`,
  );
  up.child.kill('SIGTERM');
}

async function series(): Promise<void> {
  console.log('\n== series: every route template x 7 methods, 3 fault mixes of the simulator');
  const sim = createSimulator();
  const simUrl = await sim.start();
  const sc = await startSidecar({
    NYLAS_API_URI: simUrl,
    NYLAS_API_KEY: 'nylas-sim-api-key',
    SIDECAR_INJECT_API_KEY: 'true',
  });
  const baseline = await scrapeOnce(sc.admin);
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
  const templates = [...V3_TEMPLATES, ...V2_TEMPLATES];
  const mixes: [string, Parameters<typeof sim.setFaults>[0]][] = [
    ['healthy', {}],
    [
      '30% 500, 20% 429',
      { errors: [{ rate: 0.3, status: 500, type: 'api.internal_error' }], nylasRateLimitRate: 0.2 },
    ],
    [
      '20% HTML 502, 20% provider 429',
      { errors: [], nylasRateLimitRate: 0, htmlErrorRate: 0.2, providerRateLimitRate: 0.2 },
    ],
  ];
  let sent = 0;
  for (const [, faults] of mixes) {
    sim.setFaults(faults);
    const jobs = templates.flatMap((t) =>
      methods.map((method) => ({
        method,
        path: t.replace(/\{[^}]+\}/g, () => Math.random().toString(36).slice(2, 10)),
      })),
    );
    for (let i = 0; i < jobs.length; i += 50) {
      await Promise.all(
        jobs.slice(i, i + 50).map((j) =>
          fetch(sc.proxy + j.path, {
            method: j.method,
            body: j.method === 'GET' || j.method === 'HEAD' ? undefined : '{}',
          }).then(
            (r) => r.arrayBuffer(),
            () => undefined,
          ),
        ),
      );
    }
    sent += jobs.length;
  }
  sim.setFaults({ errors: [], nylasRateLimitRate: 0, htmlErrorRate: 0, providerRateLimitRate: 0 });
  const scrapes: number[] = [];
  let last = baseline;
  for (let i = 0; i < 21; i++) {
    last = await scrapeOnce(sc.admin);
    scrapes.push(last.ms);
  }
  const count = (text: string) =>
    text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  // GET latency while scraping back to back, against GET latency with no scrape.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const quiet: number[] = [];
  for (let i = 0; i < 200; i++)
    quiet.push((await timedGet(`${sc.proxy}/v3/grants/g/messages`, agent)).ms);
  /** GET latencies while /metrics is scraped every `everyMs` (0: back to back). */
  const whileScraping = async (everyMs: number): Promise<number[]> => {
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        await scrapeOnce(sc.admin);
        if (everyMs > 0) await sleep(everyMs);
      }
    })();
    const out: number[] = [];
    for (let i = 0; i < 300; i++)
      out.push((await timedGet(`${sc.proxy}/v3/grants/g/messages`, agent)).ms);
    scraping = false;
    await scraper;
    return out;
  };
  const every250 = await whileScraping(250);
  const busy = await whileScraping(0);
  agent.destroy();
  console.log(`requests swept: ${sent}`);
  console.log(
    `series: ${count(last.text)} (before the sweep ${count(baseline.text)}), exposition ${(last.bytes / 1024).toFixed(0)} KB`,
  );
  console.log(
    `route pairs labelled by name: ${
      new Set(
        last.text
          .split('\n')
          .filter((l) => l.startsWith('nylas_api_requests_total{') && !l.includes('route="other"'))
          .map((l) => /method="([^"]*)"/.exec(l)![1] + ' ' + /route="([^"]*)"/.exec(l)![1]),
      ).size
    }; ` +
      `folded requests (nylas_sidecar_series_dropped_total): ${sampleValue(last.text, 'nylas_sidecar_series_dropped_total', { metric: 'nylas_api_requests_total' })}`,
  );
  console.log(`scrape: median ${ms(pct(scrapes, 50))}, max ${ms(pct(scrapes, 100))} (21 scrapes)`);
  console.log(
    `GET latency: no scrape p50 ${ms(pct(quiet, 50))} p99 ${ms(pct(quiet, 99))}; ` +
      `scrapes every 250 ms p50 ${ms(pct(every250, 50))} p99 ${ms(pct(every250, 99))} max ${ms(pct(every250, 100))}; ` +
      `scrapes back to back p50 ${ms(pct(busy, 50))} p99 ${ms(pct(busy, 99))} max ${ms(pct(busy, 100))}`,
  );
  await stopSidecar(sc);
  await sim.stop();
}

const phases: [string, () => Promise<void>][] = [
  ['slow', slowClients],
  ['sigterm', sigterm],
  ['series', series],
];
for (const [name, run] of phases) if (!only || only === name) await run();
process.exit(0);
