// End to end with many instances (the README's "Running many replicas"): three SIDECAR_ROLE=proxy sidecars (one per
// "app replica") and one SIDECAR_ROLE=pollers sidecar, as built processes against the simulator;
// a real Prometheus with the alert rules (test timing) and a real Alertmanager delivering to a
// receiver in this test. A second pollers instance points at a dead upstream: the stale one.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARDS_DIR } from '../../scripts/dashboards/generate.mjs';
import { dashboardQueries, substitute } from '../../scripts/dashboards/queries.mjs';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { generateTestRules } from '../helpers/alerting.js';
import { scrape, total } from '../helpers/metrics.js';
import { freePort, startSidecarProcess, type SidecarProcess } from '../helpers/process.js';
import { startSdkTraffic, type Traffic } from '../helpers/sdk-traffic.js';
import { startStack, type ReceivedAlert, type Stack } from '../helpers/stack.js';

const API_KEY = 'sim-key-for-replicas';
const EVERY_2S = '*/2 * * * * *';
const WAIT_MS = 45_000;

const hostOf = (url: string) => new URL(url).host;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('many replicas end to end (3 proxy sidecars, 1 pollers sidecar, prometheus, alertmanager)', () => {
  let dir: string;
  let sim: Simulator;
  let proxies: SidecarProcess[] = [];
  let pollers: SidecarProcess;
  let stalePollers: SidecarProcess;
  let stack: Stack;
  let traffic: Traffic | undefined;

  const firingSince = (since: number, name: string): ReceivedAlert[] =>
    stack.alerts.filter(
      (a) => a.status === 'firing' && a.receivedAt >= since && a.labels.alertname === name,
    );

  /** Steady SDK traffic (one messages.list every 100 ms) through the given proxies. */
  const startTraffic = (through: SidecarProcess[]) => {
    const grantId = sim.listGrantIds()[0]!;
    return startSdkTraffic(
      API_KEY,
      through.map((p) => ({ apiUri: p.proxyUrl, grantId })),
    );
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nylas-replicas-e2e-'));
    const rules = await generateTestRules(dir);
    sim = createSimulator({ apiKey: API_KEY, grants: 20 });
    await sim.start();
    const upstream = { NYLAS_API_URI: sim.url, NYLAS_STATUS_PAGE_URL: sim.url };
    proxies = await Promise.all(
      [1, 2, 3].map(() => startSidecarProcess({ SIDECAR_ROLE: 'proxy', ...upstream })),
    );
    const polls = {
      SIDECAR_POLL_GRANTS: EVERY_2S,
      SIDECAR_POLL_WEBHOOKS: EVERY_2S,
      SIDECAR_POLL_STATUS_PAGE: EVERY_2S,
    };
    pollers = await startSidecarProcess({
      SIDECAR_ROLE: 'pollers',
      NYLAS_API_KEY: API_KEY,
      ...upstream,
      ...polls,
    });
    // Nothing listens there: every poll of this instance fails.
    const dead = `http://127.0.0.1:${await freePort()}`;
    stalePollers = await startSidecarProcess({
      SIDECAR_ROLE: 'pollers',
      NYLAS_API_KEY: API_KEY,
      NYLAS_API_URI: dead,
      NYLAS_STATUS_PAGE_URL: dead,
      ...polls,
    });
    const pollersHost = hostOf(pollers.adminUrl);
    stack = await startStack({
      scrapeTargets: [...proxies, pollers, stalePollers].map((p) => p.adminUrl),
      ruleFiles: [rules],
      alertmanager: true,
      // The dashboards' queries over one proxy replica and over three, side by side.
      extraJobs: [
        { job: 'one', targets: [hostOf(proxies[0]!.adminUrl), pollersHost] },
        { job: 'three', targets: [...proxies.map((p) => hostOf(p.adminUrl)), pollersHost] },
      ],
    });
    await stack.waitForScrape();
  }, 120_000);

  afterAll(async () => {
    await traffic?.stop();
    await stack?.stop();
    await Promise.all([...proxies, pollers, stalePollers].map((p) => p?.stop()));
    await sim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('the requests the pollers make reaching Nylas are those of the one pollers instance', async () => {
    await stack.waitFor(
      async () =>
        (await stack.query('nylas_poller_last_success_timestamp_seconds{job="nylas-sidecar"}'))
          .length === 3,
      { timeoutMs: WAIT_MS, message: 'grants, webhooks and status_page polled' },
    );
    // The simulator counts every request with the sidecar's user agent; the pollers instance
    // counts its own. Equal at a quiet moment (polls run every 2 s and take milliseconds).
    const counted = await stack.waitFor(
      async () => {
        const mine = total(await scrape(pollers.adminUrl), 'nylas_poller_requests_total');
        return mine > 0 && mine === sim.stats.sidecarRequests && mine;
      },
      { timeoutMs: 20_000, message: 'simulator and pollers instance agree on poller requests' },
    );
    expect(counted).toBeGreaterThan(3);
    for (const p of proxies) {
      const text = await (await fetch(`${p.adminUrl}/metrics`)).text();
      expect(text).not.toMatch(/^nylas_(poller|grants|grant_invalid|webhook_status|status_page)/m);
      expect(text).toMatch(/^nylas_sidecar_role\{role="proxy"\} 1$/m);
    }
  });

  it('gives the same answer to every dashboard query with three proxy replicas as with one', async () => {
    traffic = startTraffic([proxies[0]!]);
    // Rate windows of 15 s (the e2e dashboards test's durations) fill with steady traffic.
    await sleep(25_000);
    const queries = [];
    for (const name of (await readdir(DASHBOARDS_DIR)).filter((f) => f.endsWith('.json'))) {
      queries.push(
        ...dashboardQueries(JSON.parse(await readFile(join(DASHBOARDS_DIR, name), 'utf8'))),
      );
    }
    // Per-instance views (and process metrics) differ by design: they list instances.
    const perInstance =
      /by \((?:[^)]*\b)?instance\b|nylas_sidecar_role|\bup\{|process_|nodejs_|build_info/;
    const compared = queries.filter((q) => !perInstance.test(q.expr));
    expect(compared.length).toBeGreaterThan(40);
    const at = Date.now() / 1000 - 3;
    const evalAt = async (job: string, expr: string) => {
      const e = substitute(
        expr,
        { job, instance: '.*', route: '.*', provider: '.*', trigger: '.*', component: '.*' },
        { __rate_interval: '15s', __interval: '1s', __range: '5m' },
      );
      const res = await fetch(
        `${stack.promUrl}/api/v1/query?query=${encodeURIComponent(e)}&time=${at}`,
      );
      const body = (await res.json()) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      expect(res.status, e).toBe(200);
      return new Map(
        body.data.result.map((r) => {
          const labels = Object.entries(r.metric).filter(([k]) => k !== 'job' && k !== 'instance');
          return [JSON.stringify(labels), Number(r.value[1])];
        }),
      );
    };
    let withData = 0;
    const differences: string[] = [];
    for (const q of compared) {
      const [one, three] = [await evalAt('one', q.expr), await evalAt('three', q.expr)];
      if (one.size > 0) withData++;
      const same =
        one.size === three.size &&
        [...one].every(([k, v]) => {
          const w = three.get(k);
          if (w === undefined) return false;
          if (Number.isNaN(v) || Number.isNaN(w)) return Number.isNaN(v) && Number.isNaN(w);
          // A quantile of poll durations rests on the few polls in a 15 s window (one every
          // 2 s): one poll in one job's window and not the other's moves it by a bucket
          // (0.1, 0.25, 0.5 s...), as a loaded machine showed (0.09 against 0.13 s).
          if (/histogram_quantile\(.*nylas_poller_duration/.test(q.expr))
            return Math.max(v, w) <= 2.5 * Math.min(v, w);
          // The two jobs scrape the same targets at different moments: rates differ a little,
          // an age ("time since") by up to one poll interval (2 s) and a scrape (1 s), and a
          // gauge of this instant (in flight) by the requests the one traffic loop has open (1).
          const slack = q.expr.includes('time() -') ? 3 : /inflight/.test(q.expr) ? 1 : 1e-9;
          return Math.abs(v - w) <= 0.2 * Math.max(Math.abs(v), Math.abs(w)) + slack;
        });
      if (!same)
        differences.push(
          `${q.where}: one=${JSON.stringify([...one])} three=${JSON.stringify([...three])}`,
        );
    }
    expect(differences).toEqual([]);
    expect(withData).toBeGreaterThan(20);
    await traffic.stop();
    traffic = undefined;
  }, 90_000);

  it('reports a stale pollers instance as itself, never the healthy one', async () => {
    const stale = await stack.waitForPromAlert(
      'NylasSidecarPollerStale',
      { instance: hostOf(stalePollers.adminUrl) },
      { timeoutMs: WAIT_MS, message: 'NylasSidecarPollerStale for the stale instance' },
    );
    expect(stale.annotations.description).toContain(hostOf(stalePollers.adminUrl));
    // The healthy pollers instance is never named.
    const named = (await stack.promAlerts()).filter(
      (a) => a.labels.instance === hostOf(pollers.adminUrl),
    );
    expect(named).toEqual([]);
  }, 90_000);

  it('pages once for an outage seen by every replica, and names no replica', async () => {
    traffic = startTraffic(proxies);
    const since = Date.now();
    sim.setScenario('outage');
    const pageNames = ['NylasApiUnreachable', 'NylasApiErrorBudgetBurn'];
    const pages = () =>
      stack.alerts.filter(
        (a) =>
          a.status === 'firing' &&
          a.receivedAt >= since &&
          a.labels.severity === 'critical' &&
          pageNames.includes(a.labels.alertname!),
      );
    await stack.waitFor(() => pages().length > 0, {
      timeoutMs: WAIT_MS,
      message: 'a critical API alert at the receiver',
    });
    await sleep(5_000);
    // One alert per rule (per burn-rate row), whatever the number of replicas: no instance label.
    const got = pages();
    expect(got.every((a) => a.labels.instance === undefined)).toBe(true);
    const rows = new Set(
      got.map((a) => `${a.labels.alertname} ${a.labels.long} ${a.labels.short}`),
    );
    expect(new Set(got.map((a) => JSON.stringify(a.labels))).size).toBe(rows.size);
    const firing = (await stack.promAlerts()).filter((a) => a.state === 'firing');
    expect(firing.filter((a) => a.labels.alertname === 'NylasSidecarInstanceErrors')).toEqual([]);
    sim.setScenario('healthy');
    await traffic.stop();
    traffic = undefined;
  }, 90_000);

  it("reports a dead proxy replica as itself, as a page about its app's calls", async () => {
    const since = Date.now();
    await proxies[2]!.stop();
    const down = await stack.waitFor(() => firingSince(since, 'NylasSidecarDown')[0], {
      timeoutMs: WAIT_MS,
      message: 'NylasSidecarDown for the stopped replica',
    });
    expect(down.labels.instance).toBe(hostOf(proxies[2]!.adminUrl));
    expect(down.labels.severity).toBe('critical');
    expect(down.annotations.description).toMatch(/calls to Nylas through it/);
  }, 120_000);

  it('raises "no instance polls" when the pollers stop, and never resolves an open platform alert', async () => {
    const since = Date.now();
    sim.setScenario('platform-incident');
    await stack.waitFor(() => firingSince(since, 'NylasPlatformMajorOutage').length > 0, {
      timeoutMs: WAIT_MS,
      message: 'NylasPlatformMajorOutage at the receiver',
    });
    const stoppedAt = Date.now();
    await Promise.all([stalePollers.stop(), pollers.stop()]);
    const noPoller = await stack.waitFor(() => firingSince(stoppedAt, 'NylasSidecarNoPoller')[0], {
      timeoutMs: WAIT_MS,
      message: 'NylasSidecarNoPoller at the receiver',
    });
    expect(noPoller.labels.severity).toBe('warning');
    const down = await stack.waitFor(
      () =>
        firingSince(stoppedAt, 'NylasSidecarDown').find(
          (a) => a.labels.instance === hostOf(pollers.adminUrl),
        ),
      { timeoutMs: WAIT_MS, message: 'NylasSidecarDown for the pollers instance' },
    );
    expect(down.labels.severity).toBe('warning');
    expect(down.annotations.description).toMatch(/not affected/);
    // Well past every `for` and group interval: still firing, never resolved.
    await sleep(15_000);
    const resolved = stack.alerts.filter(
      (a) =>
        a.status === 'resolved' &&
        a.receivedAt >= stoppedAt &&
        ['NylasPlatformMajorOutage', 'NylasPlatformIncident'].includes(a.labels.alertname!),
    );
    expect(resolved).toEqual([]);
    const firing = (await stack.promAlerts()).filter((a) => a.state === 'firing');
    expect(firing.some((a) => a.labels.alertname === 'NylasPlatformMajorOutage')).toBe(true);
  }, 150_000);
});
