// End to end: the built sidecar in demo mode, a real Prometheus scraping it every second with
// the alert rules, and a real Alertmanager with the example config (alerts/alertmanager.yml)
// delivering to a webhook receiver in this test. Switching the demo's simulator scenario makes
// the matching alerts arrive; the healthy demo makes none arrive in the same time.
//
// Two documented overrides, nothing hand-edited:
// - the rules are generated with `--test-timing` (windows and `for` shortened, see
//   alerts/README.md) into a temp dir;
// - the Alertmanager config is the committed example with its placeholder webhook host replaced
//   by the receiver's URL and its waits shortened (group_wait/group_interval 1 s).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedAlertmanagerConfig, generateTestRules } from '../helpers/alerting.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/process.js';
import { startStack, type ReceivedAlert, type Stack } from '../helpers/stack.js';

/** Every fault scenario must deliver its alerts within this; healthy is watched as long. */
const SCENARIO_MS = 40_000;
/** Pollers that failed during a scenario may back off this long before they run again. */
const RECOVERY_MS = 90_000;
const POLL_EVERY_2S = '*/2 * * * * *';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('alerts end to end (demo sidecar, prometheus, alertmanager)', () => {
  let dir: string;
  let sidecar: SidecarProcess | undefined;
  let stack: Stack | undefined;
  let simulatorUrl: string;

  const firingSince = (since: number): ReceivedAlert[] =>
    stack!.alerts.filter((a) => a.status === 'firing' && a.receivedAt >= since);

  async function switchScenario(name: string): Promise<number> {
    const res = await fetch(`${simulatorUrl}/_simulator/scenario`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    expect(res.status, `switch to ${name}`).toBe(200);
    return Date.now();
  }

  /**
   * Back to healthy, and waits until every poller has succeeded since: pollers back off after
   * failures (up to minutes), and the next scenario must not wait for a backed-off poller.
   */
  async function backToHealthy(): Promise<void> {
    const at = (await switchScenario('healthy')) / 1000;
    await stack!.waitFor(
      async () => {
        const last = await stack!.query('nylas_poller_last_success_timestamp_seconds');
        return last.length > 0 && last.every((s) => s.value > at);
      },
      {
        timeoutMs: RECOVERY_MS,
        message: 'every poller succeeded again after switching to healthy',
      },
    );
  }

  /** Waits until the receiver got firing alerts with all these names after `since`. */
  async function waitForArrivals(since: number, names: string[]): Promise<ReceivedAlert[]> {
    return stack!.waitFor(
      () => {
        const got = firingSince(since);
        return names.every((n) => got.some((a) => a.labels.alertname === n)) && got;
      },
      {
        timeoutMs: SCENARIO_MS,
        message: `${names.join(', ')} at the receiver (got: ${[...new Set(firingSince(since).map((a) => a.labels.alertname))].join(', ') || 'nothing'})`,
      },
    );
  }

  /** Waits until Prometheus itself has these alerts firing (some are inhibited in Alertmanager). */
  async function waitForFiring(names: string[]) {
    return stack!.waitFor(
      async () => {
        const firing = (await stack!.promAlerts()).filter((a) => a.state === 'firing');
        return names.every((n) => firing.some((a) => a.labels.alertname === n)) && firing;
      },
      { timeoutMs: SCENARIO_MS, message: `${names.join(', ')} firing in Prometheus` },
    );
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nylas-alerts-e2e-'));
    const rules = await generateTestRules(dir);
    sidecar = await startSidecarProcess({
      SIDECAR_DEMO: '1',
      SIDECAR_DEMO_SCENARIO: 'healthy',
      SIDECAR_POLL_GRANTS: POLL_EVERY_2S,
      // The census counts with a dozen requests: a 2 s schedule's 1.6 s deadline is too short.
      SIDECAR_POLL_GRANTS_CENSUS: '*/10 * * * * *',
      SIDECAR_POLL_WEBHOOKS: POLL_EVERY_2S,
      SIDECAR_POLL_STATUS_PAGE: POLL_EVERY_2S,
      SIDECAR_POLL_ACCOUNTS: POLL_EVERY_2S,
    });
    const line = sidecar.stderr.find((l) => /^\s*simulator:\s/.test(l));
    expect(line, `demo mode prints the simulator URL:\n${sidecar.stderr.join('\n')}`).toBeDefined();
    simulatorUrl = /(http:\/\/\S+)/.exec(line!)![1]!.replace(/\/$/, '');
    stack = await startStack({
      scrapeTargets: [sidecar.adminUrl],
      ruleFiles: [rules],
      alertmanager: { config: await committedAlertmanagerConfig() },
    });
    await stack.waitForScrape();
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    await sidecar?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it(
    'sends nothing while the demo is healthy',
    async () => {
      const since = Date.now();
      await sleep(SCENARIO_MS);
      expect(firingSince(since).map((a) => a.labels.alertname)).toEqual([]);
      const firing = (await stack!.promAlerts()).filter((a) => a.state === 'firing');
      expect(firing.map((a) => a.labels.alertname)).toEqual([]);
      // And the demo was really sending traffic that the SLI saw.
      const requests = await stack!.query('nylas:api_requests:rate5m');
      expect(requests[0]?.value ?? 0).toBeGreaterThan(0.5);
    },
    SCENARIO_MS + 20_000,
  );

  it(
    'pages when the Nylas API is down (outage)',
    async () => {
      const since = await switchScenario('outage');
      // NylasApiUnreachable inhibits the burn-rate page when both fire: either one pages.
      const page = await stack!.waitFor(
        () =>
          firingSince(since).find(
            (a) =>
              ['NylasApiUnreachable', 'NylasApiErrorBudgetBurn'].includes(a.labels.alertname!) &&
              a.labels.severity === 'critical',
          ),
        { timeoutMs: SCENARIO_MS, message: 'a critical API alert at the receiver' },
      );
      expect(page.path).toBe('/nylas/page');
      expect(page.annotations.runbook_url).toMatch(/^alerts\/runbook\.md#nylasapi/);
      const firing = await waitForFiring(['NylasApiErrorBudgetBurn']);
      expect(
        firing.some(
          (a) =>
            a.labels.alertname === 'NylasApiErrorBudgetBurn' &&
            a.labels.severity === 'critical' &&
            a.labels.long === '1h',
        ),
      ).toBe(true);
      await backToHealthy();
    },
    SCENARIO_MS * 2 + RECOVERY_MS,
  );

  it(
    'reports grants turning invalid (invalid-grants)',
    async () => {
      const since = await switchScenario('invalid-grants');
      // 40 % of every provider's grants at once is a surge, which pages and (in Alertmanager)
      // explains the plain NylasGrantsInvalid ticket; Prometheus fires both.
      const got = await waitForArrivals(since, ['NylasGrantsInvalidSurge']);
      const surge = got.find((a) => a.labels.alertname === 'NylasGrantsInvalidSurge');
      expect(surge!.path).toBe('/nylas/page');
      expect(surge!.labels.provider).toBeTruthy();
      await waitForFiring(['NylasGrantsInvalid', 'NylasGrantsInvalidSurge']);
      await backToHealthy();
    },
    SCENARIO_MS * 2 + RECOVERY_MS,
  );

  it(
    'reports failing and failed webhook destinations (webhook-failing)',
    async () => {
      const since = await switchScenario('webhook-failing');
      const got = await waitForArrivals(since, ['NylasWebhookFailing', 'NylasWebhookFailed']);
      const failed = got.find((a) => a.labels.alertname === 'NylasWebhookFailed')!;
      const failing = got.find((a) => a.labels.alertname === 'NylasWebhookFailing')!;
      expect(failed.labels.webhook_id).toBeTruthy();
      expect(failing.labels.webhook_id).not.toBe(failed.labels.webhook_id);
      expect(failed.path).toBe('/nylas/page');
      await backToHealthy();
    },
    SCENARIO_MS + RECOVERY_MS,
  );

  it(
    'reports a Nylas platform incident and marks our API alerts with it (platform-incident)',
    async () => {
      const since = await switchScenario('platform-incident');
      // A major incident: the major-outage ticket arrives and inhibits the plain incident notice.
      const got = await waitForArrivals(since, ['NylasPlatformMajorOutage']);
      const outage = got.find((a) => a.labels.alertname === 'NylasPlatformMajorOutage');
      expect(outage!.path).toBe('/nylas/ticket');
      await waitForFiring(['NylasPlatformIncident', 'NylasPlatformMajorOutage']);
      const am = await stack!.waitFor(
        async () => {
          const res = await fetch(
            `${stack!.amUrl}/api/v2/alerts?filter=${encodeURIComponent('alertname="NylasPlatformIncident"')}`,
          );
          const alerts = (await res.json()) as Array<{
            status: { state: string; inhibitedBy: string[] };
          }>;
          return alerts.find(
            (a) => a.status.state === 'suppressed' && a.status.inhibitedBy.length > 0,
          );
        },
        { timeoutMs: SCENARIO_MS, message: 'NylasPlatformIncident inhibited in Alertmanager' },
      );
      expect(am.status.inhibitedBy.length).toBeGreaterThan(0);
      // The scenario's 503s burn the error budget: the API alert says Nylas has an open incident.
      const burn = await stack!.waitFor(
        async () =>
          (await stack!.promAlerts()).find(
            (a) =>
              a.state === 'firing' &&
              a.labels.alertname === 'NylasApiErrorBudgetBurn' &&
              a.annotations.nylas_status_page?.startsWith('Nylas has an open incident'),
          ),
        { timeoutMs: SCENARIO_MS, message: 'an API alert marked with the open incident' },
      );
      expect(burn.annotations.nylas_status_page).toMatch(/indicator is (major|critical)/);
      await backToHealthy();
    },
    SCENARIO_MS * 3 + RECOVERY_MS,
  );

  it(
    'sends a minor incident to the info receiver once the major outage is over',
    async () => {
      // The major outage must be over in Alertmanager too, or it would inhibit the notice.
      await stack!.waitFor(
        async () => {
          const res = await fetch(
            `${stack!.amUrl}/api/v2/alerts?active=true&filter=${encodeURIComponent('alertname="NylasPlatformMajorOutage"')}`,
          );
          return ((await res.json()) as unknown[]).length === 0;
        },
        { timeoutMs: SCENARIO_MS, message: 'the major outage resolved in Alertmanager' },
      );
      const since = Date.now();
      const res = await fetch(`${simulatorUrl}/_simulator/incidents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Delayed webhook deliveries', impact: 'minor' }),
      });
      expect(res.ok, `open an incident: ${res.status}`).toBe(true);
      const got = await waitForArrivals(since, ['NylasPlatformIncident']);
      const notice = got.find((a) => a.labels.alertname === 'NylasPlatformIncident')!;
      expect(notice.path).toBe('/nylas/info');
      expect(notice.labels.severity).toBe('info');
      expect(notice.annotations.description).toMatch(/incident \S+ \(minor, /);
      expect(got.some((a) => a.labels.alertname === 'NylasPlatformMajorOutage')).toBe(false);
    },
    SCENARIO_MS * 2 + RECOVERY_MS,
  );
});
