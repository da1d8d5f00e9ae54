import type { Dispatcher } from 'undici';
import type { Metrics } from '../metrics/index.js';
import { fetchStatusSummary } from '../nylas/index.js';
import type { PollSource } from './lifecycle.js';
import {
  componentSeverity,
  componentStatus,
  COMPONENT_STATUSES,
  incidentImpact,
  indicatorValue,
  INCIDENT_IMPACTS,
  shortText,
  type ComponentStatus,
} from './labels.js';

/** Nylas's data-residency regions, as incident titles name them ("US | ...", "EU | ..."). */
export type IncidentRegion = 'us' | 'eu' | 'all';

/** The region an incident title names, or `all` when it names none. */
export function incidentRegion(title: string): IncidentRegion {
  const m = /^\s*(US|EU)\s*\|/i.exec(title);
  return m ? (m[1]!.toLowerCase() as 'us' | 'eu') : 'all';
}

/**
 * The region of the Nylas API the sidecar talks to: api.us.nylas.com or api.eu.nylas.com; the v2
 * host api.nylas.com is the US one. Undefined for any other host (a proxy, the simulator): every
 * incident then counts as ours.
 */
export function apiRegion(apiUri: URL): 'us' | 'eu' | undefined {
  const host = apiUri.hostname.toLowerCase();
  if (/(^|\.)eu\.nylas\.com$/.test(host)) return 'eu';
  if (/(^|\.)us\.nylas\.com$/.test(host) || host === 'api.nylas.com') return 'us';
  return undefined;
}

export interface StatusIncident {
  id: string;
  name: string;
  /** The region its title names (`all` when none). */
  region: IncidentRegion;
  /** False for another region's incident: shown and exported, but it does not mark our alerts. */
  ours: boolean;
  impact: string;
  status: string;
  createdAt: string | undefined;
  shortlink: string | undefined;
}

/** The last good status-page summary; kept across failed fetches. */
export interface StatusPageSnapshot {
  at: number;
  indicator: string;
  indicatorValue: number;
  description: string;
  /** `group` is the name of the component group it sits in ('' at the top level). */
  components: { name: string; group: string; status: ComponentStatus }[];
  /** Components left out of this snapshot and its metrics (more than the cap; the least bad). */
  componentsDropped: number;
  incidents: StatusIncident[];
  maintenances: { id: string; name: string; status: string; scheduledUntil: string | undefined }[];
  maintenanceActive: number;
  /** The page actually read, after redirects (e.g. https://status-v3.nylas.com/). */
  pageUrl: string;
  /** Our API region, when NYLAS_API_URI names one. */
  region: 'us' | 'eu' | undefined;
}

/** Incident states Statuspage lists as unresolved; summary.json should hold only these. */
const UNRESOLVED = new Set(['investigating', 'identified', 'monitoring']);
const MAINTENANCE_ACTIVE = new Set(['in_progress', 'verifying']);
const INCIDENT_STATUSES = new Set([...UNRESOLVED, 'resolved', 'postmortem']);
/**
 * Components exported; a Statuspage page lists dozens at most. Past it the least bad are left out
 * (and counted in nylas_sidecar_series_dropped_total), so an outage is never the one dropped.
 */
export const MAX_COMPONENTS = 200;
const MAX_INCIDENTS = 100;

type SummaryComponent = {
  id?: string | null | undefined;
  name: string;
  status: string;
  group?: boolean | null | undefined;
  group_id?: string | null | undefined;
};

/**
 * The components to export, in page order: each named with its group, so "Consul" in one group
 * and "Consul" in another stay apart. Group components only summarise their children, which carry
 * the signal, and are left out. Two with the same group and name are one series: the worse status
 * is kept. Past MAX_COMPONENTS the least bad are dropped (and counted).
 */
export function readComponents(list: readonly SummaryComponent[]): {
  components: { name: string; group: string; status: ComponentStatus }[];
  dropped: number;
} {
  const groups = new Map<string, string>();
  for (const c of list) if (c.group === true && c.id) groups.set(c.id, shortText(c.name));
  const byKey = new Map<string, { name: string; group: string; status: ComponentStatus }>();
  for (const c of list) {
    if (c.group === true) continue;
    const name = shortText(c.name);
    const group = c.group_id ? (groups.get(c.group_id) ?? '') : '';
    const status = componentStatus(c.status);
    const key = `${group}\u0000${name}`;
    const had = byKey.get(key);
    if (!had || componentSeverity(status) > componentSeverity(had.status))
      byKey.set(key, { name, group, status });
  }
  const all = [...byKey.values()];
  if (all.length <= MAX_COMPONENTS) return { components: all, dropped: 0 };
  // Keep the worst MAX_COMPONENTS (the sort is stable: page order among equals), shown in page order.
  const kept = new Set(
    [...all]
      .sort((a, b) => componentSeverity(b.status) - componentSeverity(a.status))
      .slice(0, MAX_COMPONENTS),
  );
  return { components: all.filter((c) => kept.has(c)), dropped: all.length - MAX_COMPONENTS };
}

/**
 * Polls `{NYLAS_STATUS_PAGE_URL}/api/v2/summary.json`. Series are replaced only after a good
 * fetch, so a failed one leaves the last snapshot in place (the poller's own metrics say the
 * fetch failed; the components' series do not vanish).
 */
export function createStatusPageSource(deps: {
  statusPageUrl: URL;
  /** NYLAS_API_URI: its region decides which regional incidents are ours. */
  apiUri?: URL;
  metrics: Metrics;
  dispatcher?: Dispatcher;
  now: () => number;
}) {
  const { metrics, now } = deps;
  const onAnswer = (api: string, code: string) => metrics.pollerRequests.inc({ api, code });
  let snapshot: StatusPageSnapshot | undefined;

  const source: PollSource = {
    name: 'status_page',
    async run(signal) {
      let pageUrl = deps.statusPageUrl;
      const s = await fetchStatusSummary({
        statusPageUrl: deps.statusPageUrl,
        signal,
        dispatcher: deps.dispatcher,
        now,
        onAnswer,
        onFollow: (target) => {
          pageUrl = target;
        },
      });
      const region = deps.apiUri ? apiRegion(deps.apiUri) : undefined;
      const { components, dropped } = readComponents(s.components);
      if (dropped > 0)
        metrics.seriesDropped.inc({ metric: 'nylas_status_page_component_status' }, dropped);
      const incidents: StatusIncident[] = s.incidents
        .filter((i) => UNRESOLVED.has(i.status) || !INCIDENT_STATUSES.has(i.status))
        .slice(0, MAX_INCIDENTS)
        .map((i) => ({
          id: shortText(i.id, 64),
          name: shortText(i.name, 200),
          region: incidentRegion(i.name),
          ours:
            region === undefined ||
            incidentRegion(i.name) === 'all' ||
            incidentRegion(i.name) === region,
          impact: incidentImpact(i.impact),
          status: UNRESOLVED.has(i.status) ? i.status : 'unknown',
          createdAt: i.created_at ?? undefined,
          shortlink: i.shortlink ?? undefined,
        }));
      const maintenances = s.scheduled_maintenances
        .filter((m) => MAINTENANCE_ACTIVE.has(m.status))
        .map((m) => ({
          id: shortText(m.id, 64),
          name: shortText(m.name, 200),
          status: m.status,
          scheduledUntil: m.scheduled_until ?? undefined,
        }));

      // nylas_status_page_incidents counts ours (our region's and those naming no region); the
      // other region's are counted apart, so rules neither fire nor inhibit on them.
      const byImpact = new Map<string, number>(INCIDENT_IMPACTS.map((i) => [i, 0]));
      const otherByImpact = new Map<string, number>(INCIDENT_IMPACTS.map((i) => [i, 0]));
      for (const i of incidents) {
        const m = i.ours ? byImpact : otherByImpact;
        m.set(i.impact, (m.get(i.impact) ?? 0) + 1);
      }

      metrics.statusPageIndicator.set(indicatorValue(s.status.indicator));
      metrics.statusPageComponentStatus.reset();
      for (const c of components)
        for (const st of COMPONENT_STATUSES)
          metrics.statusPageComponentStatus.set(
            { component: c.name, group: c.group, status: st },
            st === c.status ? 1 : 0,
          );
      metrics.statusPageIncidents.reset();
      for (const [impact, n] of byImpact) metrics.statusPageIncidents.set({ impact }, n);
      metrics.statusPageOtherRegionIncidents.reset();
      for (const [impact, n] of otherByImpact)
        metrics.statusPageOtherRegionIncidents.set({ impact }, n);
      metrics.statusPageIncidentInfo.reset();
      for (const i of incidents)
        metrics.statusPageIncidentInfo.set(
          { incident_id: i.id, impact: i.impact, status: i.status, region: i.region },
          1,
        );
      metrics.statusPageMaintenanceActive.set(maintenances.length);

      snapshot = {
        at: now(),
        indicator: shortText(s.status.indicator, 40),
        indicatorValue: indicatorValue(s.status.indicator),
        description: shortText(s.status.description, 200),
        components,
        componentsDropped: dropped,
        incidents,
        maintenances,
        maintenanceActive: maintenances.length,
        pageUrl: pageUrl.href,
        region,
      };
    },
  };
  return { source, snapshot: () => snapshot };
}
