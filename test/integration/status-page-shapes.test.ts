import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusModel } from '../../src/admin/status-model.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { scrape, series, total } from '../helpers/metrics.js';

// Summary payloads in the shapes real Statuspage pages send: component groups (whose children
// point at them with group_id), fields the sidecar does not read, the `maintenance` indicator.
const PAGE = {
  id: 'y2j98763l56x',
  name: 'Nylas',
  url: 'https://status-v3.nylas.com',
  time_zone: 'America/Los_Angeles',
  updated_at: '2026-12-07T20:01:12.345-08:00',
};

function component(
  id: string,
  name: string,
  status: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    name,
    status,
    created_at: '2023-03-01T10:00:00.000-08:00',
    updated_at: '2026-12-07T19:58:00.000-08:00',
    position: 1,
    description: null,
    showcase: false,
    start_date: null,
    group_id: null,
    page_id: PAGE.id,
    group: false,
    only_show_if_degraded: false,
    // Not read by the sidecar; a newer page may add more.
    automation_email: `component+${id}@notifications.statuspage.io`,
    ...extra,
  };
}

function summary(over: Record<string, unknown>): Record<string, unknown> {
  return {
    page: PAGE,
    status: { indicator: 'none', description: 'All Systems Operational' },
    components: [],
    incidents: [],
    scheduled_maintenances: [],
    ...over,
  };
}

const GROUPS = summary({
  status: { indicator: 'major', description: 'Partial System Outage', extra_field: true },
  components: [
    component('g-us', 'US', 'major_outage', { group: true, components: ['c-us-consul'] }),
    component('c-us-consul', 'Consul', 'major_outage', { group_id: 'g-us' }),
    component('c-us-api', 'API', 'operational', { group_id: 'g-us' }),
    component('g-eu', 'EU', 'operational', { group: true, components: ['c-eu-consul'] }),
    component('c-eu-consul', 'Consul', 'operational', { group_id: 'g-eu' }),
    component('c-eu-api', 'API', 'degraded_performance', { group_id: 'g-eu' }),
    component('c-dash', 'Dashboard', 'operational'),
  ],
});

const MANY = summary({
  status: { indicator: 'major', description: 'Partial System Outage' },
  components: Array.from({ length: 250 }, (_, i) =>
    component(`c${i}`, `Edge POP ${i + 1}`, i === 229 ? 'major_outage' : 'operational', {
      position: i + 1,
    }),
  ),
});

const MAINTENANCE = summary({
  status: { indicator: 'maintenance', description: 'Service Under Maintenance' },
  components: [
    component('c-db', 'Database', 'under_maintenance'),
    component('c-api', 'API', 'operational'),
  ],
  scheduled_maintenances: [
    {
      id: 'mnt1a2b3c4d5',
      name: 'Database upgrade',
      status: 'in_progress',
      impact: 'maintenance',
      scheduled_for: '2026-12-07T19:00:00.000-08:00',
      scheduled_until: '2026-12-07T21:00:00.000-08:00',
      incident_updates: [],
      components: [],
      reminder_intervals: '[3, 6, 12]',
    },
  ],
});

// A real capture: a critical incident posted while the indicator and every component still read
// operational.
const CRITICAL = summary({
  components: [
    component('c-api', 'API', 'operational'),
    component('c-hooks', 'Webhooks', 'operational'),
  ],
  incidents: [
    {
      id: 'k3vq7wz9x1ab',
      name: 'Elevated error rates on the API',
      status: 'monitoring',
      impact: 'critical',
      created_at: '2026-12-07T18:40:00.000-08:00',
      updated_at: '2026-12-07T19:55:00.000-08:00',
      monitoring_at: '2026-12-07T19:55:00.000-08:00',
      shortlink: 'https://stspg.io/k3vq7wz9',
      page_id: PAGE.id,
      incident_updates: [],
      components: [],
      reminder_intervals: null,
    },
  ],
});

describe('the status-page poller on the payload shapes real pages send', () => {
  let page: Record<string, unknown> = GROUPS;
  let server: Server;
  let sc: TestSidecar;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== '/api/v2/summary.json') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(page));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    sc = await startTestSidecar({ NYLAS_API_URI: url, NYLAS_STATUS_PAGE_URL: url });
  });
  afterAll(async () => {
    await sc?.stop();
    await new Promise<void>((r) => server?.close(() => r()));
  });

  async function poll(p: Record<string, unknown>) {
    page = p;
    expect(await sc.sidecar.pollers.runOnce('status_page')).toBe('success');
    const status = (await (await fetch(`${sc.urls.admin}/status`)).json()) as StatusModel;
    return { samples: await scrape(sc.urls.admin), status: status.statusPage! };
  }

  it('keeps components of the same name in different groups apart', async () => {
    const { samples, status } = await poll(GROUPS);
    const on = (component: string, group: string) =>
      series(samples, 'nylas_status_page_component_status', { component, group })
        .filter((s) => s.value === 1)
        .map((s) => s.labels.status);
    expect(on('Consul', 'US')).toEqual(['major_outage']);
    expect(on('Consul', 'EU')).toEqual(['operational']);
    expect(on('API', 'EU')).toEqual(['degraded_performance']);
    expect(on('Dashboard', '')).toEqual(['operational']);
    // Group components summarise their children and are not exported themselves.
    expect(series(samples, 'nylas_status_page_component_status', { component: 'US' })).toEqual([]);
    expect(status.components).toEqual([
      { name: 'Consul', group: 'US', status: 'major_outage' },
      { name: 'API', group: 'US', status: 'operational' },
      { name: 'Consul', group: 'EU', status: 'operational' },
      { name: 'API', group: 'EU', status: 'degraded_performance' },
      { name: 'Dashboard', group: '', status: 'operational' },
    ]);
    expect(status.componentsDropped).toBe(0);
    expect(total(samples, 'nylas_status_page_indicator')).toBe(2);
  });

  it('keeps the worst 200 of a page with more components, and counts and shows the rest', async () => {
    const dropped = (s: Awaited<ReturnType<typeof poll>>['samples']) =>
      total(s, 'nylas_sidecar_series_dropped_total', {
        metric: 'nylas_status_page_component_status',
      });
    const before = dropped(await scrape(sc.urls.admin));
    const { samples, status } = await poll(MANY);
    const names = new Set(
      series(samples, 'nylas_status_page_component_status').map((s) => s.labels.component),
    );
    expect(names.size).toBe(200);
    // The one in major outage at position 230 is kept.
    expect(
      total(samples, 'nylas_status_page_component_status', {
        component: 'Edge POP 230',
        status: 'major_outage',
      }),
    ).toBe(1);
    expect(dropped(samples) - before).toBe(50);
    expect(status.componentsDropped).toBe(50);
    expect(status.components).toHaveLength(200);
    const html = await (await fetch(`${sc.urls.admin}/`)).text();
    expect(html).toContain('50 more components on the page are not shown or exported');
  });

  it('reads the maintenance indicator as maintenance (-2), not as an outage or an unknown value', async () => {
    const { samples, status } = await poll(MAINTENANCE);
    expect(total(samples, 'nylas_status_page_indicator')).toBe(-2);
    expect(total(samples, 'nylas_status_page_maintenance_active')).toBe(1);
    expect(total(samples, 'nylas_status_page_incidents')).toBe(0);
    expect(status.indicator).toBe('maintenance');
    expect(status.maintenances.map((m) => m.name)).toEqual(['Database upgrade']);
    expect(
      total(samples, 'nylas_status_page_component_status', {
        component: 'Database',
        status: 'under_maintenance',
      }),
    ).toBe(1);
  });

  it('counts a critical incident while the indicator and every component read operational', async () => {
    const { samples, status } = await poll(CRITICAL);
    expect(total(samples, 'nylas_status_page_indicator')).toBe(0);
    expect(total(samples, 'nylas_status_page_incidents', { impact: 'critical' })).toBe(1);
    expect(series(samples, 'nylas_status_page_incident_info').map((s) => s.labels)).toMatchObject([
      { incident_id: 'k3vq7wz9x1ab', impact: 'critical', status: 'monitoring' },
    ]);
    expect(total(samples, 'nylas_status_page_component_status', { status: 'major_outage' })).toBe(
      0,
    );
    expect(status.incidents).toMatchObject([
      { impact: 'critical', status: 'monitoring', ours: true },
    ]);
    // The overview does not paint it green because the indicator says none.
    const html = await (await fetch(`${sc.urls.admin}/`)).text();
    expect(html).toMatch(
      /<li id="sig-platform">[^<]*<span class="bad">incident: Elevated error rates on the API \(critical\)/,
    );
  });
});
