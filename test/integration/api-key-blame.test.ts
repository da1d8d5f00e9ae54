// A wrong or revoked API key answers 401 on every grant, exactly like an invalid grant does. The
// sidecar must blame the key (its own metric, a line on / and /status) and not count the grants as
// failing; with a working key, an invalid grant's 401s stay the grant's. The simulator is Nylas,
// the official SDK is the app.
import { afterEach, describe, expect, it } from 'vitest';
import { Nylas } from '../../src/demo/nylas-sdk.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { scrape, total } from '../helpers/metrics.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const GOOD_KEY = 'nyk_v0_good_key_4b1d9c0e7f';
const WRONG_KEY = 'nyk_v0_rotated_key_9a8b7c6d5e';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setUp(
  pollerKey: string,
): Promise<{ sim: Simulator; sc: TestSidecar; grants: string[] }> {
  const sim = createSimulator({ grants: 12, seed: 5, apiKey: GOOD_KEY });
  await sim.start();
  cleanup.push(() => sim.stop());
  const sc = await startTestSidecar({
    NYLAS_API_URI: sim.url,
    NYLAS_STATUS_PAGE_URL: sim.url,
    NYLAS_API_KEY: pollerKey,
  });
  cleanup.push(() => sc.stop());
  return { sim, sc, grants: sim.listGrantIds() };
}

const settle = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    () => 'failed',
  );

interface StatusJson {
  grants: { recentAuthFailures: unknown[] } | null;
  apiKeyProblems: { fingerprint: string; source: string; grants: number; failures: number }[];
}

describe('401s are blamed on the API key or on the grant', () => {
  it('a wrong key against valid grants gives a key signal and no grant failure', async () => {
    const { sc, grants } = await setUp(GOOD_KEY);
    const app = new Nylas({ apiKey: WRONG_KEY, apiUri: sc.urls.proxy, timeout: 10 });
    // Grant calls first (held: they could still be the grants'), then one naming no grant.
    for (const g of grants.slice(0, 6))
      expect(await settle(app.messages.list({ identifier: g }))).toBe('failed');
    expect(await settle(app.grants.list())).toBe('failed');
    for (const g of grants.slice(6, 9))
      expect(await settle(app.threads.list({ identifier: g }))).toBe('failed');

    const s = await scrape(sc.urls.admin);
    expect(total(s, 'nylas_api_key_auth_failures_total', { source: 'proxy' })).toBe(10);
    expect(total(s, 'nylas_grant_auth_failures_total')).toBe(0);

    const status = (await (await fetch(`${sc.urls.admin}/status`)).json()) as StatusJson;
    expect(status.apiKeyProblems).toHaveLength(1);
    expect(status.apiKeyProblems[0]).toMatchObject({ source: 'proxy', grants: 9, failures: 10 });
    expect(status.apiKeyProblems[0]!.fingerprint).toMatch(/^[0-9a-f]{8}$/);

    const page = await (await fetch(`${sc.urls.admin}/`)).text();
    expect(page).toContain('API key rejected');
    expect(page).not.toContain('Grants failing with 401');
    // No key material anywhere a user can read.
    const everything = `${JSON.stringify(status)}${page}${await (await fetch(`${sc.urls.admin}/metrics`)).text()}${sc.logs.join('\n')}`;
    for (const secret of [WRONG_KEY, GOOD_KEY, WRONG_KEY.slice(-8), GOOD_KEY.slice(-8)])
      expect(everything).not.toContain(secret);

    // A support ticket for one of those grants does not blame the grant.
    const ticket = await (await fetch(`${sc.urls.admin}/support/${grants[0]}`)).text();
    expect(ticket).toMatch(/Suggested priority: Tier 4/);
    expect(ticket).toContain('this is a key problem');
    expect(ticket).not.toContain('may need re-authentication');
  });

  it('the pollers’ own 401 is the key’s', async () => {
    const { sc } = await setUp(WRONG_KEY);
    expect(await sc.sidecar.pollers.runOnce('grants')).toBe('error');
    const s = await scrape(sc.urls.admin);
    expect(total(s, 'nylas_api_key_auth_failures_total', { source: 'pollers' })).toBe(1);
    expect(total(s, 'nylas_grant_auth_failures_total')).toBe(0);
    const status = (await (await fetch(`${sc.urls.admin}/status`)).json()) as StatusJson;
    expect(status.apiKeyProblems.map((p) => p.source)).toEqual(['pollers']);
  });

  it('an invalid grant with a working key stays the grant’s', async () => {
    const { sim, sc, grants } = await setUp(GOOD_KEY);
    const bad = grants[3]!;
    await sim.setGrantStatus(bad, 'invalid');
    const app = new Nylas({ apiKey: GOOD_KEY, apiUri: sc.urls.proxy, timeout: 10 });
    expect(await settle(app.messages.list({ identifier: bad }))).toBe('failed');
    expect(await settle(app.messages.list({ identifier: bad }))).toBe('failed');
    // The same key works for another grant: the 401s were the grant's.
    expect(await settle(app.messages.list({ identifier: grants[0]! }))).toBe('ok');

    const s = await scrape(sc.urls.admin);
    expect(total(s, 'nylas_grant_auth_failures_total')).toBe(2);
    expect(total(s, 'nylas_api_key_auth_failures_total')).toBe(0);
    const status = (await (await fetch(`${sc.urls.admin}/status`)).json()) as StatusJson;
    expect(status.apiKeyProblems).toEqual([]);
    const ticket = await (await fetch(`${sc.urls.admin}/support/${bad}`)).text();
    expect(ticket).toContain('may need re-authentication');
    expect(ticket).toMatch(/Suggested priority: Tier 3/);
  });
});
