// End to end with two clusters and one global view: each "cluster" (us, eu) has its own
// simulated Nylas region, a SIDECAR_ROLE=proxy sidecar and a SIDECAR_ROLE=pollers sidecar (us
// also a second pollers instance against a dead upstream: the stale one), all built processes,
// and its own Prometheus scraping them with `external_labels: {cluster: ...}` and remote_write
// into a third Prometheus. That one (the remote-write receiver, the protocol Mimir and Thanos
// Receive take) evaluates the multi-cluster rules (--cluster-label cluster, test timing) and
// sends to a real Alertmanager with the committed alerts/alertmanager.yml.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDashboards } from '../../scripts/dashboards/generate.mjs';
import { dashboardQueries, substitute } from '../../scripts/dashboards/queries.mjs';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { committedAlertmanagerConfig, generateTestRules } from '../helpers/alerting.js';
import { freePort, startSidecarProcess, type SidecarProcess } from '../helpers/process.js';
import { startSdkTraffic, type Traffic } from '../helpers/sdk-traffic.js';
import { startStack, type ReceivedAlert, type Stack } from '../helpers/stack.js';

const API_KEY = 'sim-key-for-clusters';
const EVERY_2S = '*/2 * * * * *';
const WAIT_MS = 45_000;

const hostOf = (url: string) => new URL(url).host;

interface Cluster {
  name: string;
  sim: Simulator;
  proxy: SidecarProcess;
  pollers: SidecarProcess;
  extra: SidecarProcess[];
  prom: Stack;
}

describe('many clusters, one global view (2 cluster Prometheus servers remote_write into a third, alertmanager)', () => {
  let dir: string;
  let global: Stack;
  const clusters: Cluster[] = [];
  let stalePollers: SidecarProcess;
  let traffic: Traffic | undefined;

  const cluster = (name: string) => clusters.find((c) => c.name === name)!;
  const firingSince = (since: number, name: string): ReceivedAlert[] =>
    global.alerts.filter(
      (a) => a.status === 'firing' && a.receivedAt >= since && a.labels.alertname === name,
    );

  /** Steady SDK traffic (one messages.list every 100 ms) through each cluster's proxy. */
  const startTraffic = () =>
    startSdkTraffic(
      API_KEY,
      clusters.map((c) => ({ apiUri: c.proxy.proxyUrl, grantId: c.sim.listGrantIds()[0]! })),
    );

  async function startCluster(name: string, withStale: boolean): Promise<Cluster> {
    const sim = createSimulator({ apiKey: API_KEY, grants: 5 });
    await sim.start();
    const upstream = { NYLAS_API_URI: sim.url, NYLAS_STATUS_PAGE_URL: sim.url };
    const polls = {
      NYLAS_API_KEY: API_KEY,
      SIDECAR_POLL_GRANTS: EVERY_2S,
      SIDECAR_POLL_WEBHOOKS: EVERY_2S,
      SIDECAR_POLL_STATUS_PAGE: EVERY_2S,
    };
    const [proxy, pollers] = await Promise.all([
      startSidecarProcess({ SIDECAR_ROLE: 'proxy', ...upstream }),
      startSidecarProcess({ SIDECAR_ROLE: 'pollers', ...upstream, ...polls }),
    ]);
    const extra: SidecarProcess[] = [];
    if (withStale) {
      // Nothing listens there: every poll of this instance fails.
      const dead = `http://127.0.0.1:${await freePort()}`;
      stalePollers = await startSidecarProcess({
        SIDECAR_ROLE: 'pollers',
        ...polls,
        NYLAS_API_URI: dead,
        NYLAS_STATUS_PAGE_URL: dead,
      });
      extra.push(stalePollers);
    }
    const prom = await startStack({
      scrapeTargets: [proxy, pollers, ...extra].map((p) => p.adminUrl),
      externalLabels: { cluster: name },
      remoteWrite: [`${global.promUrl}/api/v1/write`],
    });
    return { name, sim, proxy, pollers, extra, prom };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nylas-clusters-e2e-'));
    const rules = await generateTestRules(dir, ['--cluster-label', 'cluster']);
    global = await startStack({
      scrapeTargets: [],
      ruleFiles: [rules],
      alertmanager: { config: await committedAlertmanagerConfig() },
      prometheusFlags: ['--web.enable-remote-write-receiver'],
    });
    clusters.push(...(await Promise.all([startCluster('us', true), startCluster('eu', false)])));
    // Both clusters' series arrive in the global store, with their cluster label.
    await global.waitFor(
      async () => {
        const up = await global.query('count by (cluster) (up{job="nylas-sidecar"} == 1)');
        const n = Object.fromEntries(up.map((s) => [s.labels.cluster, s.value]));
        return n.us === 3 && n.eu === 2;
      },
      { timeoutMs: 30_000, message: 'both clusters remote-written into the global store' },
    );
  }, 120_000);

  afterAll(async () => {
    await traffic?.stop();
    await global?.stop();
    await Promise.all(clusters.map((c) => c.prom.stop()));
    await Promise.all(
      clusters.flatMap((c) => [c.proxy, c.pollers, ...c.extra]).map((p) => p.stop()),
    );
    await Promise.all(clusters.map((c) => c.sim.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("names a stale pollers instance with its cluster, while the other cluster's poller data stays in use", async () => {
    const since = Date.now();
    // eu's Nylas reports failing webhook destinations: only eu's pollers instance sees it.
    cluster('eu').sim.setScenario('webhook-failing');
    const stale = await global.waitForPromAlert(
      'NylasSidecarPollerStale',
      { instance: hostOf(stalePollers.adminUrl) },
      { timeoutMs: WAIT_MS, message: 'NylasSidecarPollerStale for the stale instance' },
    );
    expect(stale.labels.cluster).toBe('us');
    expect(stale.annotations.description).toContain('(nylas-sidecar in cluster us)');
    // One freshest instance per cluster and poller: each cluster's healthy pollers instance.
    const freshest = await global.query('nylas_sidecar:poller_freshest{poller="webhooks"}');
    expect(freshest.map((s) => `${s.labels.cluster} ${s.labels.instance}`).sort()).toEqual([
      `eu ${hostOf(cluster('eu').pollers.adminUrl)}`,
      `us ${hostOf(cluster('us').pollers.adminUrl)}`,
    ]);
    const failing = await global.waitFor(() => firingSince(since, 'NylasWebhookFailing')[0], {
      timeoutMs: WAIT_MS,
      message: "NylasWebhookFailing from eu's pollers",
    });
    expect(failing.labels.cluster).toBe('eu');
    expect(failing.annotations.description).toMatch(/^In cluster eu: /);
    expect(firingSince(since, 'NylasWebhookFailing').every((a) => a.labels.cluster === 'eu')).toBe(
      true,
    );
    cluster('eu').sim.setScenario('healthy');
  }, 90_000);

  it('keeps the clusters apart in every query of the multi-cluster dashboards', async () => {
    traffic = startTraffic();
    // Rate windows of 15 s fill with steady traffic, in both clusters: wait until the global
    // store holds a full 15 s of the request counter from each.
    await global.waitFor(
      async () =>
        (
          await global.query(
            'count by (cluster) (count_over_time(nylas_api_requests_total{job="nylas-sidecar"}[15s]) >= 14)',
          )
        ).length === 2,
      { timeoutMs: 60_000, message: '15 s of traffic from both clusters in the global store' },
    );
    const queries = Object.values(renderDashboards({ clusterLabel: 'cluster' })).flatMap((text) =>
      dashboardQueries(JSON.parse(text)),
    );
    let withData = 0;
    const mixed: string[] = [];
    const bothSeen = new Set<string>();
    for (const q of queries) {
      const expr = substitute(
        q.expr,
        {
          job: 'nylas-sidecar',
          cluster: '.*',
          instance: '.*',
          route: '.*',
          provider: '.*',
          trigger: '.*',
          component: '.*',
        },
        { __rate_interval: '15s', __interval: '1s', __range: '5m' },
      );
      const result = await global.query(expr);
      if (result.length === 0) continue;
      withData++;
      // Every series says which cluster it is about: none adds the two together.
      if (result.some((s) => s.labels.cluster !== 'us' && s.labels.cluster !== 'eu'))
        mixed.push(`${q.where}: ${JSON.stringify(result.map((s) => s.labels))}`);
      const seen = new Set(result.map((s) => s.labels.cluster));
      if (seen.has('us') && seen.has('eu')) bothSeen.add(q.where);
    }
    expect(mixed).toEqual([]);
    expect(withData).toBeGreaterThan(30);
    expect(bothSeen.size).toBeGreaterThan(20);
  }, 90_000);

  it('pages once for an outage of one cluster, naming that cluster', async () => {
    traffic ??= startTraffic();
    const since = Date.now();
    cluster('us').sim.setScenario('outage');
    const pageNames = ['NylasApiUnreachable', 'NylasApiErrorBudgetBurn'];
    const pages = () =>
      global.alerts.filter(
        (a) =>
          a.status === 'firing' &&
          a.receivedAt >= since &&
          a.path === '/nylas/page' &&
          pageNames.includes(a.labels.alertname!),
      );
    const first = await global.waitFor(() => pages()[0], {
      timeoutMs: WAIT_MS,
      message: 'a page for the API at the receiver',
    });
    expect(first.labels.cluster).toBe('us');
    expect(first.annotations.description).toContain('through nylas-sidecar in cluster us');
    // A few evaluations later, nothing more: no page for the healthy eu, none twice.
    await global.waitForEvaluations(4);
    const got = pages();
    // us alone, once per rule (per burn-rate row): no page for the healthy eu.
    expect(got.map((a) => a.labels.cluster)).toEqual(got.map(() => 'us'));
    const rows = new Set(
      got.map((a) => `${a.labels.alertname} ${a.labels.long} ${a.labels.short}`),
    );
    expect(new Set(got.map((a) => JSON.stringify(a.labels))).size).toBe(rows.size);
    const firing = (await global.promAlerts()).filter(
      (a) => a.state === 'firing' && pageNames.includes(a.labels.alertname!),
    );
    expect(firing.some((a) => a.labels.cluster === 'eu')).toBe(false);
    cluster('us').sim.setScenario('healthy');
    await traffic.stop();
    traffic = undefined;
  }, 90_000);

  it('raises "no instance polls" for a cluster whose pollers stop, and for that cluster alone', async () => {
    const since = Date.now();
    await cluster('eu').pollers.stop();
    const noPoller = await global.waitFor(() => firingSince(since, 'NylasSidecarNoPoller')[0], {
      timeoutMs: WAIT_MS,
      message: 'NylasSidecarNoPoller at the receiver',
    });
    expect(noPoller.labels.cluster).toBe('eu');
    expect(noPoller.annotations.description).toContain(
      'No instance of nylas-sidecar in cluster eu',
    );
    // A few evaluations later: still eu alone (us's pollers instance polls).
    await global.waitForEvaluations(3);
    const firing = (await global.promAlerts()).filter(
      (a) => a.state === 'firing' && a.labels.alertname === 'NylasSidecarNoPoller',
    );
    expect(firing.map((a) => a.labels.cluster)).toEqual(['eu']);
  }, 90_000);
});
