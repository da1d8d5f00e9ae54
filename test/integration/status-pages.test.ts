import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nylas } from '../../src/demo/nylas-sdk.js';
import type { StatusModel } from '../../src/admin/status-model.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const API_KEY = 'status-pages-api-key-3f9a';
const CLIENT_ID = 'status-pages-client';
const CLIENT_SECRET = 'status-pages-client-secret-77c1';

let sim: Simulator;
let sc: TestSidecar;
let invalidId: string;
let validId: string;
let incidentId: string;

beforeAll(async () => {
  sim = createSimulator({
    apiKey: API_KEY,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    grants: 20,
  });
  await sim.start();
  sc = await startTestSidecar({
    NYLAS_API_URI: sim.url,
    NYLAS_STATUS_PAGE_URL: sim.url,
    NYLAS_API_KEY: API_KEY,
    NYLAS_CLIENT_ID: CLIENT_ID,
    NYLAS_CLIENT_SECRET: CLIENT_SECRET,
  });
  const ids = sim.listGrantIds();
  invalidId = ids[4]!;
  validId = ids[9]!;
  void sim.setGrantStatus(invalidId, 'invalid');
  incidentId = sim.openIncident({ name: 'Microsoft sync delays', impact: 'minor' });
  for (const p of ['grants', 'grants_census', 'webhooks', 'status_page', 'accounts'] as const)
    expect(await sc.sidecar.pollers.runOnce(p)).toBe('success');

  // Real traffic through the proxy with the official SDK: the invalid grant fails with 401.
  const nylas = new Nylas({ apiKey: API_KEY, apiUri: sc.urls.proxy });
  for (let i = 0; i < 2; i++)
    await expect(
      nylas.messages.list({ identifier: invalidId, queryParams: { limit: 1 } }),
    ).rejects.toBeTruthy();
  await nylas.messages.list({ identifier: validId, queryParams: { limit: 1 } });
});

afterAll(async () => {
  await sc?.stop();
  await sim?.stop();
});

async function get(path: string): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${sc.urls.admin}${path}`);
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    text: await res.text(),
  };
}

describe('GET /status', () => {
  it('holds grants, destinations, platform status, poller freshness and recent upstream errors', async () => {
    const res = await get('/status');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/application\/json/);
    const m = JSON.parse(res.text) as StatusModel;
    expect(m.grants!.total).toBe(20);
    expect(m.grants!.invalid.map((g) => g.grantId)).toEqual([invalidId]);
    expect(m.grants!.recentAuthFailures).toEqual([
      expect.objectContaining({ grantId: invalidId, count: 2 }),
    ]);
    expect(m.webhooks!.destinations.map((d) => d.description)).toContain('CRM sync');
    expect(m.webhooks!.destinations.every((d) => !d.urlHost.includes('/'))).toBe(true);
    expect(m.statusPage!.incidents).toEqual([
      expect.objectContaining({ id: incidentId, name: 'Microsoft sync delays', impact: 'minor' }),
    ]);
    expect(m.accounts!.total).toBeGreaterThan(0);
    const names = m.pollers.map((p) => p.name).sort();
    expect(names).toEqual(['accounts', 'grants', 'grants_census', 'status_page', 'webhooks']);
    for (const p of m.pollers) {
      expect(p.lastResult).toBe('success');
      expect(p.stale).toBe(false);
      expect(p.lastSuccessAt).not.toBeNull();
    }
    const errs = m.recentErrors.filter((e) => e.grantId === invalidId);
    expect(errs).toHaveLength(2);
    expect(errs[0]).toMatchObject({
      method: 'GET',
      route: '/v3/grants/{grant_id}/messages',
      code: 401,
      errorType: 'unauthorized',
    });
    expect(errs[0]!.requestId).toMatch(/\S+/);
    expect(Date.parse(errs[0]!.time)).not.toBeNaN();
  });
});

describe('GET /support/{grant_id}', () => {
  it('writes a ticket for an invalid grant with its request ids, errors and a tier', async () => {
    const status = JSON.parse((await get('/status')).text) as StatusModel;
    const requestIds = status.recentErrors
      .filter((e) => e.grantId === invalidId)
      .map((e) => e.requestId!);
    const res = await get(`/support/${invalidId}`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/text\/plain/);
    expect(res.text).toContain(`Grant ID: ${invalidId}`);
    expect(res.text).toContain('Grant status: invalid');
    for (const id of requestIds) expect(res.text).toContain(`request_id=${id}`);
    expect(res.text).toContain('401 unauthorized x2');
    expect(res.text).toMatch(/Suggested priority: Tier 3 \(one user affected, or a question\)/);
    expect(res.text).toContain('Microsoft sync delays (minor, investigating)');
  });

  it('writes a tier-4 ticket for a healthy grant it looks up at Nylas', async () => {
    const res = await get(`/support/${validId}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('Grant status: valid');
    expect(res.text).toContain('GET /v3/grants/{grant_id}');
    expect(res.text).toMatch(/Tier 4/);
  });

  it('answers 404 with a clear text for a grant nobody knows', async () => {
    const res = await get('/support/00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(404);
    expect(res.text).toMatch(
      /^Unknown grant 00000000-0000-4000-8000-000000000000: .*Nylas answered 404/,
    );
  });
});

describe('admin pages and secrets', () => {
  it('never show the API key or the client secret', async () => {
    for (const path of ['/status', '/', `/support/${invalidId}`, `/support/${validId}`]) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(API_KEY);
      expect(res.text).not.toContain(CLIENT_SECRET);
      expect(res.text).not.toContain(Buffer.from(`${CLIENT_SECRET}:`).toString('base64'));
    }
    expect(sc.logs.join('\n')).not.toContain(API_KEY);
    expect(sc.logs.join('\n')).not.toContain(CLIENT_SECRET);
  });

  it('serves the overview as HTML with a locked-down content security policy', async () => {
    const res = await fetch(`${sc.urls.admin}/`);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain(invalidId);
    expect(html).toContain('Microsoft sync delays');
  });
});
