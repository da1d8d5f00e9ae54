// `npm run stress`: adversarial sweeps at full size against the built sidecar, with
// the figures printed (not part of `npm test`: it takes about two minutes and measures time).
// Loopback only; every phase is bounded in count and in time.
//
//   npm run stress -- [--only slow|sigterm|series] [--main FILE]
//
// 1. slow clients: 300 uploads promising 100,000 bytes and sending one byte a second, plus 50
//    clients sending their headers one byte a second, while a plain GET runs back to back;
// 2. SIGTERM: 4 back-to-back keep-alive clients, SIGTERM, 5 rounds: requests cut, time to exit;
// 3. series: (a) every route template with every method, under three fault mixes of the
//    simulator: series by family, exposition size, scrape time, GET latency while scraping;
//    (b) 10,000 random requests and 1,000 random webhook notifications, the upstream healthy,
//    and (c) the same with the fault mixes: the same figures.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Agent, createServer, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSimulator } from '../src/simulator/index.js';
import { V2_TEMPLATES, V3_TEMPLATES } from '../src/proxy/route-table.js';
import { METHOD_BITS, routeMethodMask } from '../src/proxy/route-methods.js';
import { createWebhookSender, makeEvent } from '../src/simulator/webhook-sender.js';
import { knownTriggers } from '../src/webhooks/triggers.js';
import { benchSidecarEnv } from './sidecar-env.js';
import { cpuSeconds } from './proc.js';
import { freePort } from '../test/helpers/ports.js';

const here = dirname(fileURLToPath(import.meta.url));

const UPSTREAM = join(here, 'upstream.js');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
// --main FILE runs another build's sidecar (its dist/src/main.js): a before/after on this machine.
const MAIN = args.includes('--main')
  ? args[args.indexOf('--main') + 1]!
  : join(here, '..', 'src', 'main.js');

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

/** Sample lines (series) by family, from the exposition's `# TYPE` lines. */
function seriesByFamily(text: string): Map<string, number> {
  const families: string[] = [];
  for (const line of text.split('\n'))
    if (line.startsWith('# TYPE ')) families.push(line.split(' ')[2]!);
  // Longest first, so that nylas_x_total is not taken for a sample of nylas_x.
  families.sort((a, b) => b.length - a.length);
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = line.slice(0, line.search(/[{ ]/));
    const family = families.find((f) => name === f || name.startsWith(`${f}_`)) ?? name;
    out.set(family, (out.get(family) ?? 0) + 1);
  }
  return out;
}

/** Series per family (largest first), the total, the exposition's size and scrape times. */
async function reportSeries(admin: string, pid: number): Promise<string> {
  const scrapes: number[] = [];
  let last = await scrapeOnce(admin);
  // The sidecar's own CPU per scrape: what rendering costs, whatever else the machine runs (the
  // wall-clock times include waiting for a core on a loaded machine).
  const cpu0 = cpuSeconds(pid);
  for (let i = 0; i < 21; i++) {
    last = await scrapeOnce(admin);
    scrapes.push(last.ms);
  }
  const cpuPerScrape = ((cpuSeconds(pid) - cpu0) / 21) * 1000;
  const byFamily = [...seriesByFamily(last.text)].sort((a, b) => b[1] - a[1]);
  const total = byFamily.reduce((a, [, n]) => a + n, 0);
  console.log(`series: ${total}, exposition ${(last.bytes / 1024).toFixed(0)} KB`);
  for (const [family, n] of byFamily.filter(([, n]) => n >= 10))
    console.log(`  ${String(n).padStart(5)}  ${family}`);
  console.log(
    `  ${String(byFamily.filter(([, n]) => n < 10).reduce((a, [, n]) => a + n, 0)).padStart(5)}  ` +
      `${byFamily.filter(([, n]) => n < 10).length} families of fewer than 10 series each`,
  );
  console.log(
    `scrape of /metrics (21 in a row): median ${ms(pct(scrapes, 50))}, ` +
      `quartiles ${ms(pct(scrapes, 25))} .. ${ms(pct(scrapes, 75))}, min ${ms(pct(scrapes, 0))}, max ${ms(pct(scrapes, 100))}; ` +
      `sidecar CPU ${ms(cpuPerScrape)} a scrape`,
  );
  return last.text;
}

/** Distinct (method, route) of nylas_api_requests_total labelled by name, and the folded count. */
function namedPairs(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .filter((l) => l.startsWith('nylas_api_requests_total{') && !l.includes('route="other"'))
      .map((l) => /method="([^"]*)"/.exec(l)![1] + ' ' + /route="([^"]*)"/.exec(l)![1]),
  );
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const TEMPLATES = [...V3_TEMPLATES, ...V2_TEMPLATES];
/** Every (method, template) pair the route table names. */
const TABLE_PAIRS = TEMPLATES.flatMap((t) =>
  METHODS.filter((m) => (routeMethodMask(t) & METHOD_BITS.get(m)!) !== 0).map((m) => `${m} ${t}`),
);
const pathFor = (t: string) =>
  t.replace(/\{[^}]+\}/g, () => Math.random().toString(36).slice(2, 10));

/** The three fault mixes of the simulator every series case goes through. */
type Faults = Parameters<ReturnType<typeof createSimulator>['setFaults']>[0];
const MIXES: [string, Faults][] = [
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
const NO_FAULTS: Faults = {
  errors: [],
  nylasRateLimitRate: 0,
  htmlErrorRate: 0,
  providerRateLimitRate: 0,
};

/** Sends `jobs` through the proxy, 50 at a time. */
async function send(proxy: string, jobs: { method: string; path: string }[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 50) {
    await Promise.all(
      jobs.slice(i, i + 50).map((j) =>
        fetch(proxy + j.path, {
          method: j.method,
          body: j.method === 'GET' || j.method === 'HEAD' ? undefined : '{}',
        }).then(
          (r) => r.arrayBuffer(),
          () => undefined,
        ),
      ),
    );
  }
}

async function series(): Promise<void> {
  console.log(
    `\n== series (a): every route template x 7 methods (${TABLE_PAIRS.length} pairs in the route table), 3 fault mixes`,
  );
  const sim = createSimulator();
  const simUrl = await sim.start();
  const sc = await startSidecar({
    NYLAS_API_URI: simUrl,
    NYLAS_API_KEY: 'nylas-sim-api-key',
    SIDECAR_INJECT_API_KEY: 'true',
  });
  const baseline = await scrapeOnce(sc.admin);
  let sent = 0;
  for (const [, faults] of MIXES) {
    sim.setFaults(faults);
    const jobs = TEMPLATES.flatMap((t) => METHODS.map((method) => ({ method, path: pathFor(t) })));
    await send(sc.proxy, jobs);
    sent += jobs.length;
  }
  sim.setFaults(NO_FAULTS);
  console.log(
    `requests swept: ${sent}; series before the sweep: ${seriesByFamily(baseline.text).size} families, ` +
      `${[...seriesByFamily(baseline.text).values()].reduce((a, b) => a + b, 0)} series`,
  );
  const text = await reportSeries(sc.admin, sc.child.pid!);
  const named = namedPairs(text);
  console.log(
    `route pairs labelled by name: ${named.size} of the table's ${TABLE_PAIRS.length}` +
      ` (missing: ${TABLE_PAIRS.filter((p) => !named.has(p)).length}); ` +
      `folded requests (nylas_sidecar_series_dropped_total): ${sampleValue(text, 'nylas_sidecar_series_dropped_total', { metric: 'nylas_api_requests_total' })}`,
  );
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
  console.log(
    `GET latency: no scrape p50 ${ms(pct(quiet, 50))} p99 ${ms(pct(quiet, 99))}; ` +
      `scrapes every 250 ms p50 ${ms(pct(every250, 50))} p99 ${ms(pct(every250, 99))} max ${ms(pct(every250, 100))}; ` +
      `scrapes back to back p50 ${ms(pct(busy, 50))} p99 ${ms(pct(busy, 99))} max ${ms(pct(busy, 100))}`,
  );
  await stopSidecar(sc);
  await sim.stop();
  await seriesRandom(false);
  await seriesRandom(true);
}

/**
 * 10,000 requests, each a random template with a random one of the 7 methods (so most are a
 * method the route lacks: route="other") or, half of the time, a random pair of the table; and
 * 1,000 webhook notifications of random known triggers (random delivery attempt 1-3, one in ten
 * of an unknown type), forwarded to an app that answers 200, 500 or slowly. `withFaults` draws
 * one of the three fault mixes for each batch of 500 requests (every pair then meets several
 * outcomes); without, the upstream is healthy.
 */
async function seriesRandom(withFaults: boolean): Promise<void> {
  console.log(
    `\n== series (${withFaults ? 'c' : 'b'}): 10,000 random requests, 1,000 random webhook notifications, ${withFaults ? 'a fault mix drawn per 500 requests' : 'healthy upstream'}`,
  );
  const sim = createSimulator();
  const simUrl = await sim.start();
  const app = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const r = Math.random();
      if (r < 0.1) res.writeHead(500).end();
      else if (r < 0.2) setTimeout(() => res.writeHead(200).end(), 60);
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const webhookPort = await freePort();
  const secret = 'stress-webhook-secret';
  const sc = await startSidecar({
    NYLAS_API_URI: simUrl,
    NYLAS_API_KEY: 'nylas-sim-api-key',
    SIDECAR_INJECT_API_KEY: 'true',
    SIDECAR_WEBHOOK_LISTEN: `127.0.0.1:${webhookPort}`,
    SIDECAR_WEBHOOK_FORWARD_URL: `http://127.0.0.1:${(app.address() as AddressInfo).port}/hook`,
    NYLAS_WEBHOOK_SECRET: secret,
  });
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
  for (let batch = 0; batch < 20; batch++) {
    sim.setFaults(withFaults ? pick(MIXES)[1] : NO_FAULTS);
    await send(
      sc.proxy,
      Array.from({ length: 500 }, () => {
        if (Math.random() < 0.5) {
          const [method, t] = pick(TABLE_PAIRS).split(' ') as [string, string];
          return { method, path: pathFor(t) };
        }
        return { method: pick(METHODS), path: pathFor(pick(TEMPLATES)) };
      }),
    );
  }
  sim.setFaults(NO_FAULTS);
  const sender = createWebhookSender({ secret, backoffMs: () => 0, timeoutMs: 5_000 });
  const triggers = knownTriggers();
  const hook = `http://127.0.0.1:${webhookPort}/`;
  for (let i = 0; i < 1000; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, () => {
        const trigger = Math.random() < 0.1 ? 'unknown.trigger' : pick(triggers);
        const event = makeEvent(trigger, {
          time: Math.floor(Date.now() / 1000) - pick([0, 5, 90]),
        });
        return sender.deliver(hook, event, {
          attempt: 1 + Math.floor(Math.random() * 3),
          maxAttempts: 1,
        });
      }),
    );
  }
  await reportSeries(sc.admin, sc.child.pid!);
  await stopSidecar(sc);
  await sim.stop();
  app.closeAllConnections();
  await new Promise((r) => app.close(r));
}

const phases: [string, () => Promise<void>][] = [
  ['slow', slowClients],
  ['sigterm', sigterm],
  ['series', series],
];
for (const [name, run] of phases) if (!only || only === name) await run();
process.exit(0);
