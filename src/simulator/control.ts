// The control API under /_simulator/: switch scenarios and faults, and change the world, at run time.
import type { Exchange } from './http.js';
import { BadRequest, isRecord, readJson, sendJson } from './http.js';
import type { Faults } from './faults.js';
import type { Simulator } from './index.js';
import { WEBHOOK_STATUSES, type WebhookStatus } from './state.js';
import {
  COMPONENT_STATUSES,
  INCIDENT_IMPACTS,
  INCIDENT_STATUSES,
  INDICATORS,
  type ComponentStatus,
  type IncidentImpact,
  type IncidentStatus,
  type Indicator,
} from './status-page.js';

/** One line per control route, printed by the CLI and demo mode and listed by GET /_simulator. */
export const CONTROL_ROUTES = [
  'GET    /_simulator/state                       scenario, faults, counts, status page, stats',
  'POST   /_simulator/scenario                    {"name":"outage"}',
  'PATCH  /_simulator/faults                      {"latencyMs":200,"errors":[{"rate":0.1,"status":500,"type":"api.internal_error"}]}',
  'POST   /_simulator/grants/{id}/status          {"status":"invalid"} (grant.expired when notifications are on)',
  'POST   /_simulator/grant-notifications         {"enabled":true} grant.expired/updated/deleted to subscribed destinations',
  'POST   /_simulator/accounts/{id}/sync_state    {"sync_state":"stopped"}',
  'POST   /_simulator/webhooks/{id}/status        {"status":"failing","sinceSeconds":108000} (failing for 30 h)',
  'POST   /_simulator/channels/{id}/status        {"status":"failing"} (Pub/Sub or SNS channel; sinceSeconds too)',
  'POST   /_simulator/webhooks/deliver            {"trigger":"message.created","count":1}',
  'POST   /_simulator/incidents                   {"name":"Email sync delays","impact":"major"}',
  'DELETE /_simulator/incidents/{id}',
  'POST   /_simulator/status-page/indicator       {"indicator":"major"} (null: computed again)',
  'POST   /_simulator/status-page/components      {"name":"API","status":"major_outage"} ("group":"US" in platform-regional)',
  'POST   /_simulator/status-page/redirect        {"to":"/status-v3"} /api/v2/* answers 302 there (null: no redirect)',
  'POST   /_simulator/maintenance                 {"name":"Database upgrade"}',
  'DELETE /_simulator/maintenance',
] as const;

function oneOf<T extends string>(v: unknown, allowed: readonly T[], field: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new BadRequest(`${field} must be one of: ${allowed.join(', ')}`);
  return v as T;
}

async function body(x: Exchange): Promise<Record<string, unknown>> {
  const b = await readJson(x.req, 64 * 1024);
  if (!isRecord(b)) throw new BadRequest('the request body must be a JSON object');
  return b;
}

/** Answers /_simulator/... Errors thrown as BadRequest (or plain Error from the simulator) become 400. */
export async function handleControl(
  sim: Simulator & { state(): unknown; faults: Faults },
  x: Exchange,
): Promise<void> {
  const method = x.req.method;
  const [, a, b, c] = x.parts;
  const done = (data: unknown = { ok: true }) => sendJson(x.res, 200, data);
  try {
    if (a === undefined && method === 'GET') return done({ routes: CONTROL_ROUTES });
    if (a === 'state' && method === 'GET') return done(sim.state());
    if (a === 'scenario' && method === 'POST') {
      const { name } = await body(x);
      if (typeof name !== 'string') throw new BadRequest('name must be a scenario name');
      sim.setScenario(name);
      return done({ ok: true, scenario: name });
    }
    if (a === 'faults' && (method === 'PATCH' || method === 'POST')) {
      sim.setFaults(await body(x));
      return done({ ok: true, faults: sim.faults });
    }
    if (a === 'grants' && b !== undefined && c === 'status' && method === 'POST') {
      const { status } = await body(x);
      const notified = await sim.setGrantStatus(
        b,
        oneOf(status, ['valid', 'invalid'] as const, 'status'),
      );
      return done(notified ? { ok: true, notified } : { ok: true });
    }
    if (a === 'grant-notifications' && b === undefined && method === 'POST') {
      const { enabled } = await body(x);
      if (typeof enabled !== 'boolean') throw new BadRequest('enabled must be true or false');
      sim.grantNotifications = enabled;
      return done({ ok: true, enabled });
    }
    if (a === 'accounts' && b !== undefined && c === 'sync_state' && method === 'POST') {
      const { sync_state } = await body(x);
      if (typeof sync_state !== 'string' || sync_state === '')
        throw new BadRequest('sync_state must be a string such as running or stopped');
      sim.setAccountSyncState(b, sync_state);
      return done();
    }
    if (a === 'webhooks' && b === 'deliver' && method === 'POST') {
      const { trigger, count } = await body(x);
      if (typeof trigger !== 'string' || trigger === '')
        throw new BadRequest('trigger must be a trigger type such as message.created');
      const n = count === undefined ? 1 : count;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1000)
        throw new BadRequest('count must be an integer from 1 to 1000');
      return done(await sim.deliverWebhooks({ trigger, count: n }));
    }
    if (
      (a === 'webhooks' || a === 'channels') &&
      b !== undefined &&
      c === 'status' &&
      method === 'POST'
    ) {
      const { status, sinceSeconds } = await body(x);
      if (
        sinceSeconds !== undefined &&
        (typeof sinceSeconds !== 'number' || !Number.isInteger(sinceSeconds) || sinceSeconds < 0)
      )
        throw new BadRequest('sinceSeconds must be a whole number of seconds >= 0');
      const s = oneOf<WebhookStatus>(status, WEBHOOK_STATUSES, 'status');
      if (a === 'webhooks') sim.setWebhookStatus(b, s, sinceSeconds);
      else sim.setChannelStatus(b, s, sinceSeconds);
      return done();
    }
    if (a === 'incidents' && b === undefined && method === 'POST') {
      const i = await body(x);
      if (typeof i.name !== 'string' || i.name === '')
        throw new BadRequest('name must be a non-empty string');
      const id = sim.openIncident({
        name: i.name,
        impact: oneOf<IncidentImpact>(i.impact, INCIDENT_IMPACTS, 'impact'),
        status:
          i.status === undefined
            ? undefined
            : oneOf<IncidentStatus>(i.status, INCIDENT_STATUSES, 'status'),
      });
      return sendJson(x.res, 201, { id });
    }
    if (a === 'incidents' && b !== undefined && method === 'DELETE') {
      sim.resolveIncident(b);
      return done();
    }
    if (a === 'status-page' && b === 'indicator' && method === 'POST') {
      const { indicator } = await body(x);
      sim.setStatusIndicator(
        indicator === null ? null : oneOf<Indicator>(indicator, INDICATORS, 'indicator'),
      );
      return done();
    }
    if (a === 'status-page' && b === 'redirect' && method === 'POST') {
      const { to } = await body(x);
      if (to !== null && (typeof to !== 'string' || to === ''))
        throw new BadRequest('to must be a path such as /status-v3, an absolute URL, or null');
      sim.setStatusPageRedirect(to);
      return done();
    }
    if (a === 'status-page' && b === 'components' && method === 'POST') {
      const { name, status, group } = await body(x);
      if (typeof name !== 'string') throw new BadRequest('name must be a component name');
      if (group !== undefined && typeof group !== 'string')
        throw new BadRequest('group must be a component group name');
      sim.setComponentStatus(
        name,
        oneOf<ComponentStatus>(status, COMPONENT_STATUSES, 'status'),
        group,
      );
      return done();
    }
    if (a === 'maintenance' && method === 'POST') {
      const { name } = await body(x);
      return done({ id: sim.startMaintenance(typeof name === 'string' ? name : undefined) });
    }
    if (a === 'maintenance' && method === 'DELETE') {
      sim.endMaintenance();
      return done();
    }
    sendJson(x.res, 404, {
      error: `no control route ${method} ${x.url.pathname}`,
      routes: CONTROL_ROUTES,
    });
  } catch (err) {
    sendJson(x.res, 400, { error: (err as Error).message });
  }
}
