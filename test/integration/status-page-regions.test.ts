import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/index.js';
import { redirectAllowed } from '../../src/nylas/redirects.js';
import { createPollers } from '../../src/pollers/index.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { parseMetrics, series, total } from '../helpers/metrics.js';
import { TEST_ENV } from '../helpers/sidecar.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(env: Record<string, string> = {}) {
  const sim: Simulator = createSimulator();
  await sim.start();
  cleanup.push(() => sim.stop());
  const config = loadConfig({
    env: { ...TEST_ENV, NYLAS_STATUS_PAGE_URL: sim.url, NYLAS_API_URI: sim.url, ...env },
  });
  const metrics = createMetrics({ latencyBuckets: [1], version: 't', defaultMetrics: false });
  const pollers = createPollers({
    config,
    metrics,
    logger: createLogger({ level: 'silent' }),
    tracer: trace.getTracer('t'),
  });
  cleanup.push(() => pollers.stop());
  const scrape = async () => parseMetrics(await metrics.registry.metrics());
  return { sim, pollers, scrape };
}

describe('the status page behind a redirect', () => {
  it('follows a redirect to the per-version page on the same host and says which page it read', async () => {
    const { sim, pollers } = await setup();
    sim.openIncident({ name: 'API errors', impact: 'minor' });
    sim.setStatusPageRedirect('/status-v3');
    expect(await pollers.runOnce('status_page')).toBe('success');
    const snap = pollers.snapshot().statusPage!;
    expect(snap.pageUrl).toBe(`${sim.url}/status-v3/api/v2/summary.json`);
    expect(snap.incidents.map((i) => i.name)).toEqual(['API errors']);
  });

  it('refuses a redirect to a host outside the configured domain', async () => {
    const { sim, pollers } = await setup();
    const elsewhere = sim.url.replace('127.0.0.1', 'localhost');
    sim.setStatusPageRedirect(`${elsewhere}/status-v3`);
    expect(await pollers.runOnce('status_page')).toBe('error');
    expect(pollers.snapshot().pollers.find((p) => p.name === 'status_page')!.lastErrorCode).toBe(
      'ERR_NYLAS_REDIRECT_REFUSED',
    );
  });

  it('allows the domain of the configured host only, and never a downgrade to http', () => {
    const page = new URL('https://status.nylas.com');
    expect(redirectAllowed(page, new URL('https://status-v3.nylas.com/api/v2/summary.json'))).toBe(
      true,
    );
    expect(redirectAllowed(page, new URL('https://nylas.com/x'))).toBe(true);
    expect(redirectAllowed(page, new URL('https://status.nylas.com.evil.example/x'))).toBe(false);
    expect(redirectAllowed(page, new URL('https://evilnylas.com/x'))).toBe(false);
    expect(redirectAllowed(page, new URL('http://status-v3.nylas.com/x'))).toBe(false);
    expect(redirectAllowed(new URL('http://127.0.0.1:1'), new URL('http://127.0.0.2:1/'))).toBe(
      false,
    );
  });
});

describe('regional incidents', () => {
  it("counts our region's incidents and those naming none, and exports the other region's apart", async () => {
    const { sim, pollers, scrape } = await setup({ NYLAS_API_URI: 'https://api.us.nylas.com' });
    sim.openIncident({ name: 'EU | Delayed webhooks', impact: 'major' });
    sim.openIncident({ name: 'US | Elevated API latencies', impact: 'minor' });
    sim.openIncident({ name: 'Dashboard login issues', impact: 'minor' });
    expect(await pollers.runOnce('status_page')).toBe('success');
    const s = await scrape();
    expect(total(s, 'nylas_status_page_incidents', { impact: 'minor' })).toBe(2);
    expect(total(s, 'nylas_status_page_incidents', { impact: 'major' })).toBe(0);
    expect(total(s, 'nylas_status_page_other_region_incidents', { impact: 'major' })).toBe(1);
    const regions = series(s, 'nylas_status_page_incident_info').map((x) => x.labels.region);
    expect(regions.sort()).toEqual(['all', 'eu', 'us']);
    const snap = pollers.snapshot().statusPage!;
    expect(snap.region).toBe('us');
    expect(snap.incidents.filter((i) => !i.ours).map((i) => i.name)).toEqual([
      'EU | Delayed webhooks',
    ]);
  });

  it('counts every incident as ours when NYLAS_API_URI names no region', async () => {
    const { sim, pollers, scrape } = await setup();
    sim.openIncident({ name: 'EU | Delayed webhooks', impact: 'major' });
    expect(await pollers.runOnce('status_page')).toBe('success');
    const s = await scrape();
    expect(total(s, 'nylas_status_page_incidents', { impact: 'major' })).toBe(1);
    expect(total(s, 'nylas_status_page_other_region_incidents')).toBe(0);
  });
});
