// An Atlassian-Statuspage-compatible status page (the JSON API under /api/v2/).
import type { Exchange } from './http.js';
import { sendJson } from './http.js';
import { hash32, hex } from './random.js';

/** `maintenance`: a scheduled maintenance is in progress and nothing is worse. */
export type Indicator = 'none' | 'minor' | 'major' | 'critical' | 'maintenance';
export type ComponentStatus =
  'operational' | 'degraded_performance' | 'partial_outage' | 'major_outage' | 'under_maintenance';
export type IncidentImpact = 'minor' | 'major' | 'critical';
export type IncidentStatus = 'investigating' | 'identified' | 'monitoring';

export const INDICATORS: readonly Indicator[] = [
  'none',
  'minor',
  'major',
  'critical',
  'maintenance',
];
export const COMPONENT_STATUSES: readonly ComponentStatus[] = [
  'operational',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'under_maintenance',
];
export const INCIDENT_IMPACTS: readonly IncidentImpact[] = ['minor', 'major', 'critical'];
export const INCIDENT_STATUSES: readonly IncidentStatus[] = [
  'investigating',
  'identified',
  'monitoring',
];
export const COMPONENT_NAMES = [
  'API',
  'Webhooks',
  'Email Sync',
  'Calendar Sync',
  'Authentication',
  'Dashboard',
] as const;
/**
 * The grouped layout: each region a component group whose children repeat the same names, as
 * pages with per-region groups do ("Consul" under both US and EU).
 */
export const COMPONENT_GROUPS: Readonly<Record<string, readonly string[]>> = {
  US: ['API', 'Consul', 'Webhooks'],
  EU: ['API', 'Consul', 'Webhooks'],
};

interface Component {
  name: string;
  /** The group's name, '' at the top level. */
  group: string;
  status: ComponentStatus;
}

interface Incident {
  id: string;
  name: string;
  impact: IncidentImpact;
  status: IncidentStatus;
  createdAt: number;
  components: string[];
}

const PAGE_ID = 'sim0nylas0page';
const DESCRIPTIONS: Record<Indicator, string> = {
  none: 'All Systems Operational',
  minor: 'Minor Service Outage',
  major: 'Partial System Outage',
  critical: 'Major Service Outage',
  maintenance: 'Service Under Maintenance',
};
const RANK: Record<Indicator, number> = {
  maintenance: -1,
  none: 0,
  minor: 1,
  major: 2,
  critical: 3,
};
/** How bad a component status is: a group shows its worst child's. */
const SEVERITY: Record<ComponentStatus, number> = {
  operational: 0,
  under_maintenance: 1,
  degraded_performance: 2,
  partial_outage: 3,
  major_outage: 4,
};
const key = (group: string, name: string) => (group ? `${group}/${name}` : name);

/** The status page's state and its JSON rendering. */
/** Where the per-API-version page is served (status-v3.nylas.com stands behind this prefix). */
export const VERSION_PAGE = '/status-v3';

export class StatusPage {
  /** By `group/name` (just `name` at the top level), in page order. */
  private readonly components = new Map<string, Component>();
  private incidents: Incident[] = [];
  private indicatorOverride: Indicator | undefined;
  private maintenance: { id: string; name: string; startedAt: number } | undefined;
  private nextId = 1;
  /** Failures still to answer (the `statusPageFailures` fault). */
  failuresLeft = 0;
  /**
   * When set, /api/v2/* at the root answers 302 to this base (a path such as `/status-v3`, or an
   * absolute URL), as status.nylas.com sends readers to its per-API-version page. The page itself
   * is always served under /status-v3/ too.
   */
  redirectTo: string | undefined;

  constructor(
    private readonly seed: number,
    private readonly now: () => number,
  ) {
    this.reset();
  }

  /** Back to the flat layout, all operational, no incidents, no maintenance, computed indicator. */
  reset(): void {
    this.components.clear();
    for (const name of COMPONENT_NAMES)
      this.components.set(name, { name, group: '', status: 'operational' });
    this.incidents = [];
    this.indicatorOverride = undefined;
    this.maintenance = undefined;
  }

  /** Adds the per-region groups of COMPONENT_GROUPS (all operational) after the flat components. */
  addGroups(): void {
    for (const [group, names] of Object.entries(COMPONENT_GROUPS))
      for (const name of names)
        this.components.set(key(group, name), { name, group, status: 'operational' });
  }

  /** Sets one component's status; `group` names its group (see addGroups). */
  setComponentStatus(name: string, status: ComponentStatus, group = ''): void {
    const c = this.components.get(key(group, name));
    if (!c)
      throw new Error(
        `unknown component "${key(group, name)}"; components: ${[...this.components.keys()].join(', ')}`,
      );
    c.status = status;
  }

  /** Forces the overall indicator; undefined goes back to computing it from incidents and components. */
  setIndicator(indicator: Indicator | undefined): void {
    this.indicatorOverride = indicator;
  }

  openIncident(i: {
    name: string;
    impact: IncidentImpact;
    status?: IncidentStatus;
    components?: string[];
  }): string {
    const id = `${hex(hash32(this.seed, 70, this.nextId++), 8)}inc`;
    this.incidents.push({
      id,
      name: i.name,
      impact: i.impact,
      status: i.status ?? 'investigating',
      createdAt: this.now(),
      components: i.components ?? [],
    });
    return id;
  }

  resolveIncident(id: string): void {
    const before = this.incidents.length;
    this.incidents = this.incidents.filter((i) => i.id !== id);
    if (this.incidents.length === before) throw new Error(`no unresolved incident "${id}"`);
  }

  startMaintenance(name = 'Scheduled database maintenance'): string {
    this.maintenance ??= {
      id: `${hex(hash32(this.seed, 71, this.nextId++), 8)}mnt`,
      name,
      startedAt: this.now(),
    };
    return this.maintenance.id;
  }

  endMaintenance(): void {
    this.maintenance = undefined;
  }

  indicator(): Indicator {
    if (this.indicatorOverride) return this.indicatorOverride;
    let worst: Indicator = 'none';
    const raise = (i: Indicator) => {
      if (RANK[i] > RANK[worst]) worst = i;
    };
    for (const inc of this.incidents) raise(inc.impact);
    for (const { status: s } of this.components.values()) {
      if (s === 'major_outage') raise('major');
      else if (s === 'partial_outage' || s === 'degraded_performance') raise('minor');
    }
    // Statuspage says `maintenance` while one is in progress and nothing is worse.
    return worst === 'none' && this.maintenance ? 'maintenance' : worst;
  }

  /** A plain summary for the control API's state. */
  snapshot() {
    return {
      indicator: this.indicator(),
      components: Object.fromEntries([...this.components].map(([k, c]) => [k, c.status])),
      incidents: this.incidents.map((i) => ({
        id: i.id,
        name: i.name,
        impact: i.impact,
        status: i.status,
      })),
      maintenance: this.maintenance
        ? { id: this.maintenance.id, name: this.maintenance.name }
        : null,
      failuresLeft: this.failuresLeft,
    };
  }

  private iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  private page(base: string) {
    return {
      id: PAGE_ID,
      name: 'Nylas (simulated)',
      url: base,
      time_zone: 'Etc/UTC',
      updated_at: this.iso(this.now()),
    };
  }

  private componentObjects() {
    const created = this.iso(Date.UTC(2024, 0, 1));
    const object = (k: number, name: string, status: string, groupId: string | null) => ({
      id: `${hex(hash32(this.seed, 72, k), 8)}cmp`,
      name,
      status,
      created_at: created,
      updated_at: this.iso(this.now()),
      position: k + 1,
      description: null,
      showcase: true,
      start_date: '2024-01-01',
      group_id: groupId,
      page_id: PAGE_ID,
      group: false,
      only_show_if_degraded: false,
    });
    const all = [...this.components.values()];
    const out = all
      .map((c, k) => ({ c, k }))
      .filter(({ c }) => c.group === '')
      .map(({ c, k }) => object(k, c.name, c.status, null));
    // A group is a component of its own (group: true, its children's ids), listed before them.
    const groups = [...new Set(all.map((c) => c.group).filter((g) => g !== ''))];
    for (const [g, group] of groups.entries()) {
      const gid = `${hex(hash32(this.seed, 73, g), 8)}grp`;
      const children = all.map((c, k) => ({ c, k })).filter(({ c }) => c.group === group);
      const worst = children.reduce(
        (w, { c }) => (SEVERITY[c.status] > SEVERITY[w] ? c.status : w),
        'operational' as ComponentStatus,
      );
      const childObjects = children.map(({ c, k }) => object(k, c.name, c.status, gid));
      out.push({
        ...object(all.length + g, group, worst, null),
        id: gid,
        group: true,
        components: childObjects.map((o) => o.id),
      } as ReturnType<typeof object>);
      out.push(...childObjects);
    }
    return out;
  }

  private incidentObjects(base: string) {
    const comps = this.componentObjects();
    return this.incidents.map((i) => {
      const at = this.iso(i.createdAt);
      const affected = comps.filter((c) => i.components.includes(c.name));
      return {
        id: i.id,
        name: i.name,
        status: i.status,
        impact: i.impact,
        created_at: at,
        updated_at: at,
        monitoring_at: i.status === 'monitoring' ? at : null,
        resolved_at: null,
        started_at: at,
        shortlink: `${base}/incidents/${i.id}`,
        page_id: PAGE_ID,
        incident_updates: [
          {
            id: `${i.id}u1`,
            status: i.status,
            body: `We are ${i.status === 'investigating' ? 'investigating' : 'working on'} ${i.name.toLowerCase()}.`,
            incident_id: i.id,
            created_at: at,
            updated_at: at,
            display_at: at,
            affected_components: affected.map((c) => ({
              code: c.id,
              name: c.name,
              old_status: 'operational',
              new_status: c.status,
            })),
            deliver_notifications: true,
          },
        ],
        components: affected,
      };
    });
  }

  private maintenanceObjects(base: string) {
    if (!this.maintenance) return [];
    const m = this.maintenance;
    const at = this.iso(m.startedAt);
    return [
      {
        id: m.id,
        name: m.name,
        status: 'in_progress',
        impact: 'maintenance',
        created_at: at,
        updated_at: at,
        monitoring_at: null,
        resolved_at: null,
        started_at: at,
        shortlink: `${base}/incidents/${m.id}`,
        page_id: PAGE_ID,
        scheduled_for: at,
        scheduled_until: this.iso(m.startedAt + 2 * 3_600_000),
        incident_updates: [],
        components: [],
      },
    ];
  }

  /** Answers GET /api/v2/*.json (and /status-v3/api/v2/*.json); false for an unknown path. */
  handle(x: Exchange): boolean {
    let path = x.url.pathname;
    if (path.startsWith(VERSION_PAGE)) path = path.slice(VERSION_PAGE.length);
    else if (this.redirectTo !== undefined && path.startsWith('/api/v2/')) {
      x.res.writeHead(302, { location: `${this.redirectTo.replace(/\/$/, '')}${path}` });
      x.res.end();
      return true;
    }
    const base = `http://${x.req.headers.host ?? '127.0.0.1'}`;
    if (this.failuresLeft > 0 && path.startsWith('/api/v2/')) {
      this.failuresLeft--;
      x.res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' });
      x.res.end('<html><body><h1>500 Internal Server Error</h1></body></html>');
      return true;
    }
    const indicator = this.indicator();
    const status = { indicator, description: DESCRIPTIONS[indicator] };
    switch (path) {
      case '/api/v2/summary.json':
        sendJson(x.res, 200, {
          page: this.page(base),
          status,
          components: this.componentObjects(),
          incidents: this.incidentObjects(base),
          scheduled_maintenances: this.maintenanceObjects(base),
        });
        return true;
      case '/api/v2/status.json':
        sendJson(x.res, 200, { page: this.page(base), status });
        return true;
      case '/api/v2/components.json':
        sendJson(x.res, 200, { page: this.page(base), components: this.componentObjects() });
        return true;
      case '/api/v2/incidents/unresolved.json':
      case '/api/v2/incidents.json':
        sendJson(x.res, 200, { page: this.page(base), incidents: this.incidentObjects(base) });
        return true;
      case '/api/v2/scheduled-maintenances.json':
      case '/api/v2/scheduled-maintenances/active.json':
        sendJson(x.res, 200, {
          page: this.page(base),
          scheduled_maintenances: this.maintenanceObjects(base),
        });
        return true;
      case '/api/v2/scheduled-maintenances/upcoming.json':
        sendJson(x.res, 200, { page: this.page(base), scheduled_maintenances: [] });
        return true;
      default:
        return false;
    }
  }
}
