import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { startShowcase } from '../../src/demo/showcase.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const API_KEY = 'overview-browser-key';

let sim: Simulator;
let sc: TestSidecar;
let browser: Browser;
let invalidIds: string[];
let incidentId: string;

beforeAll(async () => {
  sim = createSimulator({ apiKey: API_KEY, grants: 12 });
  await sim.start();
  sc = await startTestSidecar({
    NYLAS_API_URI: sim.url,
    NYLAS_STATUS_PAGE_URL: sim.url,
    NYLAS_API_KEY: API_KEY,
  });
  const ids = sim.listGrantIds();
  invalidIds = [ids[2]!, ids[5]!];
  for (const id of invalidIds) void sim.setGrantStatus(id, 'invalid');
  incidentId = sim.openIncident({ name: 'Elevated API error rates', impact: 'major' });
  for (const p of ['grants', 'webhooks', 'status_page'] as const)
    expect(await sc.sidecar.pollers.runOnce(p)).toBe('success');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await sc?.stop();
  await sim?.stop();
});

describe('HTML overview in headless Chromium', () => {
  it('shows the invalid grants and the open incident, loading nothing from elsewhere', async () => {
    const page = await browser.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(sc.urls.admin)) foreign.push(r.url());
    });
    const res = await page.goto(`${sc.urls.admin}/`);
    expect(res?.status()).toBe(200);
    expect(await page.title()).toBe('nylas-sidecar overview');

    const invalidTable = page.locator('h3:has-text("Invalid grants") + table');
    for (const id of invalidIds) await expect.poll(() => invalidTable.innerText()).toContain(id);
    const rows = await invalidTable.locator('tbody tr').count();
    expect(rows).toBe(2);

    const incidents = page.locator('h3:has-text("Open incidents") + table');
    const text = await incidents.innerText();
    expect(text).toContain('Elevated API error rates');
    expect(text).toContain('major');
    expect(text).toContain(incidentId);

    // The ticket link of an invalid grant leads to its support text.
    await invalidTable.locator('a', { hasText: 'ticket text' }).first().click();
    const body = await page.locator('body').innerText();
    expect(body).toMatch(/Grant ID: \S+/);
    expect(body).toContain('Grant status: invalid');
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('drops the incident from the page once it is resolved', async () => {
    sim.resolveIncident(incidentId);
    expect(await sc.sidecar.pollers.runOnce('status_page')).toBe('success');
    const page = await browser.newPage();
    await page.goto(`${sc.urls.admin}/`);
    const section = await page.locator('body').innerText();
    expect(section).not.toContain('Elevated API error rates');
    expect(section).toContain('No open incidents.');
    await page.close();
  });
});

// Each demo scenario, fresh, as a newcomer's first screen (1280x800) shows it: what is wrong must
// be visible there without scrolling, and `healthy` must look healthy.
describe('the first screen of / in each demo scenario', () => {
  const inView = async (page: import('playwright-core').Page, selector: string) => {
    const box = await page.locator(selector).boundingBox();
    expect(box, selector).not.toBeNull();
    expect(box!.y + box!.height, `${selector} on the first screen`).toBeLessThanOrEqual(800);
  };
  const classOf = (page: import('playwright-core').Page, selector: string) =>
    page.locator(selector).getAttribute('class');

  const expectations: Record<
    string,
    (page: import('playwright-core').Page, text: (s: string) => Promise<string>) => Promise<void>
  > = {
    healthy: async (page, text) => {
      expect(await text('#verdict')).toContain('traffic healthy');
      for (const c of ['#card-errors', '#card-429', '#card-latency'])
        expect(await classOf(page, c), c).toBe('card ok');
      expect(await text('#sig-grants')).toMatch(/0 invalid of 240/);
      expect(await text('#sig-platform')).toContain('all systems operational');
      expect(await text('#sig-webhooks')).toMatch(/\d+ active/);
    },
    outage: async (page, text) => {
      expect(await classOf(page, '#card-errors')).toBe('card bad');
      expect(await text('#verdict')).toMatch(/failed requests \(5xx or no answer\)/);
    },
    degraded: async (page, text) => {
      expect(await classOf(page, '#card-latency')).toBe('card bad');
      expect(await text('#card-latency')).toContain('above Nylas');
      expect(await text('#verdict')).toContain('p90 latency above 0.5 s');
    },
    'rate-limited': async (page, text) => {
      expect(await classOf(page, '#card-429')).toBe('card bad');
      expect(await text('#card-429')).toMatch(/Nylas [1-9]\d* · provider [1-9]\d*/);
    },
    'invalid-grants': async (page, text) => {
      expect(await text('#sig-grants')).toMatch(/[1-9]\d* invalid of 240/);
      expect(await text('#sig-grants')).toMatch(/failing with 401 in traffic/);
      expect(await text('#verdict')).toMatch(/\d+ invalid grants/);
    },
    'accounts-stopped': async (_page, text) => {
      // Stopped, or already restarted by the demo's restart automation: either way it says so.
      expect(await text('#sig-accounts')).toMatch(
        /[1-9]\d* of 12 not running|[1-9]\d* stopped account\(s\) restarted by the sidecar/,
      );
    },
    'webhook-failing': async (_page, text) => {
      expect(await text('#sig-webhooks')).toMatch(/failing or failed/);
      expect(await text('#verdict')).toMatch(/webhook destination\(s\) failing or failed/);
    },
    'platform-incident': async (_page, text) => {
      expect(await text('#sig-platform')).toContain('Elevated API error rates');
      expect(await text('#verdict')).toContain('open Nylas incident');
    },
  };

  for (const [scenario, check] of Object.entries(expectations))
    it(`shows ${scenario} at a glance`, async () => {
      const show = await startShowcase({ scenario, requests: 200, sampleMs: 500 });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        const foreign: string[] = [];
        page.on('request', (r) => {
          if (!r.url().startsWith(show.admin)) foreign.push(r.url());
        });
        await page.goto(`${show.admin}/`);
        const text = (s: string) => page.locator(s).innerText();
        expect(await text('#mode')).toBe('DEMO');
        expect(await text('#scenario')).toBe(`scenario ${scenario}`);
        expect(await text('#freshness')).toMatch(/grants \d+ s ago/);
        for (const s of [
          '#verdict',
          '#card-rate',
          '#card-errors',
          '#card-429',
          '#card-latency',
          '#routes',
          '.signals',
        ])
          await inView(page, s);
        expect(Number((await text('#card-rate .big')).trim())).toBeGreaterThan(0);
        await check(page, text);
        expect(foreign).toEqual([]);
        await page.close();
      } finally {
        await show.stop();
      }
    }, 120_000);
});
