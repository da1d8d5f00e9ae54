import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
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
