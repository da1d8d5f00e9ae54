// Every panel's query returns data against a real Prometheus that scrapes the built sidecar in
// demo mode, with the dashboard variables substituted the way Grafana does for "All". The demo
// is driven through its simulator's scenarios so that fault panels (5xx, 429s, invalid grants,
// failing webhooks, incidents, maintenance) have something to show.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARDS_DIR } from '../../scripts/dashboards/generate.mjs';
import {
  dashboardQueries,
  substitute,
  variableQueries,
  type DashboardQuery,
} from '../../scripts/dashboards/queries.mjs';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/process.js';
import { startStack, type Stack } from '../helpers/stack.js';

const JOB = 'nylas-sidecar';
const VARS = {
  job: JOB,
  instance: '.*',
  route: '.*',
  provider: '.*',
  trigger: '.*',
  component: '.*',
};
// Scrapes every second: a 15 s window holds enough samples for rate() and histogram_quantile().
const DURATIONS = { __rate_interval: '15s', __interval: '1s', __range: '5m' };

/**
 * Panels that legitimately stay empty in the demo, with the reason. Keep this short: anything
 * the demo can show, it should.
 */
const NO_DATA_IN_DEMO: Record<string, string> = {};

/**
 * The simulator scenarios the test walks through: the demo as a newcomer runs it (retries,
 * restart automation and forged deliveries in webhook-failing are the demo's own), plus a
 * maintenance, which no scenario has.
 */
const PHASES: { scenario: string; seconds: number; act?: () => Promise<void> }[] = [
  { scenario: 'healthy', seconds: 12 },
  { scenario: 'degraded', seconds: 8 },
  { scenario: 'outage', seconds: 8 },
  // Retries (on in the demo) wait out most 429s (Retry-After 2 s), and on a busy machine the
  // demo's traffic can spend the whole phase waiting: calls of the test's own make sure some
  // 429s reach an app.
  { scenario: 'rate-limited', seconds: 16, act: () => callUntil429() },
  { scenario: 'invalid-grants', seconds: 8 },
  { scenario: 'accounts-stopped', seconds: 8 },
  { scenario: 'webhook-failing', seconds: 8 },
  {
    scenario: 'platform-incident',
    seconds: 8,
    act: () => control('maintenance', { name: 'Database upgrade' }),
  },
];

/**
 * Calls a grant's messages through the sidecar's proxy, 10 at a time, until one answer the app
 * gets is a 429 (bounded: 100 calls; each is a 429 after its two retries with a chance of
 * 0.51^3 in this scenario). The demo's simulator key is the one the banner prints.
 */
async function callUntil429(): Promise<void> {
  const auth = { authorization: 'Bearer nylas-sim-api-key' };
  let grantId: string | undefined;
  for (let i = 0; i < 30 && grantId === undefined; i++) {
    const r = await fetch(`${sidecar!.proxyUrl}/v3/grants?limit=1`, { headers: auth });
    const body = (await r.json()) as { data?: { id: string }[] };
    grantId = r.status === 200 ? body.data?.[0]?.id : undefined;
  }
  expect(grantId, 'a grant listed under rate-limited').toBeDefined();
  for (let round = 0; round < 10; round++) {
    const codes = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${sidecar!.proxyUrl}/v3/grants/${grantId}/messages?limit=1`, {
          headers: auth,
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    if (codes.includes(429)) return;
  }
  throw new Error('no 429 reached the app in 100 calls under rate-limited');
}

interface Dashboard {
  uid: string;
}

let sidecar: SidecarProcess | undefined;
let stack: Stack | undefined;
let otlp: OtlpReceiver | undefined;
let simulatorUrl: string;
const queries: DashboardQuery[] = [];
const dashboards: Dashboard[] = [];

/**
 * True when a range query over [start, end] (1 s steps, as a time series panel would draw it)
 * gave at least one number; NaN is what Grafana shows as no data.
 */
async function hasData(expr: string, start: number, end: number): Promise<boolean> {
  const res = await fetch(`${stack!.promUrl}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      query: expr,
      start: String(start),
      end: String(end),
      step: '1',
    }).toString(),
  });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { result: { values: [number, string][] }[] };
  };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data!.result.some((r) => r.values.some(([, v]) => Number.isFinite(Number(v))));
}

async function control(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${simulatorUrl}/_simulator/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, `simulator ${path}`).toBe(200);
}

beforeAll(async () => {
  for (const name of (await readdir(DASHBOARDS_DIR)).filter((f) => f.endsWith('.json'))) {
    const d = JSON.parse(await readFile(join(DASHBOARDS_DIR, name), 'utf8')) as Dashboard;
    dashboards.push(d);
    queries.push(...dashboardQueries(d));
  }
  otlp = await startOtlpReceiver();
  sidecar = await startSidecarProcess({
    SIDECAR_DEMO: '1',
    // Every poller every 2 s, so a scenario switch reaches /metrics within seconds.
    SIDECAR_POLL_GRANTS: '*/2 * * * * *',
    SIDECAR_POLL_GRANTS_CENSUS: '*/10 * * * * *',
    SIDECAR_POLL_WEBHOOKS: '*/2 * * * * *',
    SIDECAR_POLL_STATUS_PAGE: '*/2 * * * * *',
    SIDECAR_POLL_ACCOUNTS: '*/2 * * * * *',
    // Features that are off by default but have panels: retries, v2 restarts, the series cap.
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
  const line = sidecar.stderr.find((l) => /^\s*simulator:\s/.test(l));
  expect(line, `demo mode prints the simulator URL:\n${sidecar.stderr.join('\n')}`).toBeDefined();
  simulatorUrl = /(https?:\/\/\S+)/.exec(line!)![1]!.replace(/\/$/, '');
  const hook = sidecar.stderr.find((l) => /^\s*webhooks:\s/.test(l));
  expect(hook, 'demo mode runs the webhook listener').toBeDefined();
  expect(/(https?:\/\/\S+)/.test(hook!)).toBe(true);
  stack = await startStack({
    scrapeTargets: [`${sidecar.adminUrl}/metrics`],
    job: JOB,
    interval: '1s',
    prometheusFlags: ['--enable-feature=exemplar-storage'],
  });
  await stack.waitForScrape();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await sidecar?.stop();
  await otlp?.close();
});

describe('dashboards against Prometheus scraping the demo', () => {
  it('fills every template variable', async () => {
    for (const d of dashboards) {
      for (const v of variableQueries(d)) {
        const values = await stack!.waitFor(
          async () => {
            const r = await stack!.query(`count by (${v.label}) (${v.metric}{job="${JOB}"})`);
            return r.length > 0 ? r : undefined;
          },
          { timeoutMs: 30_000, message: `${d.uid} variable ${v.name}: ${v.text}` },
        );
        expect(values.length).toBeGreaterThan(0);
      }
    }
  });

  it('returns data for every panel query over the demo scenarios', async () => {
    const start = Date.now() / 1000;
    for (const phase of PHASES) {
      await control('scenario', { name: phase.scenario });
      await phase.act?.();
      await new Promise((r) => setTimeout(r, phase.seconds * 1000));
    }
    // Checked over the whole walk, the way the panels draw it, so a state that lasted a few
    // seconds (a stopped account the sidecar restarted) counts however busy the machine was.
    const end = Date.now() / 1000;
    const pending: string[] = [];
    for (const q of queries) {
      if (!(await hasData(substitute(q.expr, VARS, DURATIONS), start, end))) pending.push(q.where);
    }
    await control('scenario', { name: 'healthy' });
    const missing = pending.filter((w) => !(w in NO_DATA_IN_DEMO));
    expect(missing, 'panel queries that never returned data').toEqual([]);
    // The exceptions must name real panels, or the list silently goes stale.
    for (const w of Object.keys(NO_DATA_IN_DEMO)) expect(queries.map((q) => q.where)).toContain(w);
  }, 180_000);

  it('stores trace-id exemplars on the latency histogram the latency panels query', async () => {
    const exemplars = await stack!.waitFor(
      async () => {
        const now = Date.now() / 1000;
        const params = new URLSearchParams({
          query: `nylas_api_request_duration_seconds_bucket{job="${JOB}"}`,
          start: String(now - 600),
          end: String(now),
        });
        const res = await fetch(`${stack!.promUrl}/api/v1/query_exemplars?${params.toString()}`);
        const body = (await res.json()) as {
          data: { exemplars: { labels: Record<string, string> }[] }[];
        };
        const all = body.data.flatMap((s) => s.exemplars);
        return all.length > 0 ? all : undefined;
      },
      { timeoutMs: 30_000, message: 'exemplars in Prometheus' },
    );
    const withTrace = exemplars.filter((e) => /^[0-9a-f]{32}$/.test(e.labels.trace_id ?? ''));
    expect(withTrace.length).toBeGreaterThan(0);
    // Each links to a trace the sidecar exported (what Grafana opens in the trace datasource).
    await stack!.waitFor(
      () => {
        const exported = new Set(otlp!.spans.map((s) => s.traceId));
        return withTrace.some((e) => exported.has(e.labels.trace_id!));
      },
      { timeoutMs: 10_000, message: 'an exemplar trace id among the exported spans' },
    );
  });
});
