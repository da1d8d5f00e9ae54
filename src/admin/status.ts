import { Router, type Response } from 'express';
import type { Pollers } from '../pollers/index.js';
import type { RecentErrors } from '../proxy/index.js';
import type { KeyHealth } from '../credentials/index.js';
import type { TrafficSampler } from './traffic.js';
import type { StatusModel } from './status-model.js';
import { renderOverview } from './overview.js';
import { buildStatusModel } from './status-model.js';
import { renderSupportTicket } from './support-ticket.js';

export interface StatusDeps {
  pollers: Pollers;
  recentErrors: RecentErrors;
  /** Host of the Nylas API (the region), named in support tickets. */
  apiHost?: string;
  /** SIDECAR_ROLE of this instance, shown on /status (which instance's data this is). */
  role?: 'proxy' | 'pollers' | 'all';
  /** Unix ms; default Date.now. */
  now?: () => number;
  /** API key problems, shown on / and /status and taken into account by /support. */
  keyHealth?: KeyHealth;
  /** The proxied traffic (unset when this instance runs no proxy). */
  traffic?: TrafficSampler;
  /** Who this instance is, for the overview's top strip. */
  instance?: {
    mode: 'demo' | 'live';
    scenario?: () => string;
    upstream: string;
    version: string;
    /** Unix ms. */
    startedAt: number;
  };
}

/** Grant ids are UUIDs or provider-style ids; anything longer is not one. */
const MAX_GRANT_ID_LENGTH = 256;

function common(res: Response): Response {
  return res.set('cache-control', 'no-store').set('x-content-type-options', 'nosniff');
}

/** The human-facing admin pages: GET /status (JSON), GET / (HTML), GET /support/{grant_id}. */
export function createStatusRouter(deps: StatusDeps): Router {
  const { pollers, recentErrors } = deps;
  const now = deps.now ?? Date.now;
  const router = Router();

  /** The model of / and /status: pollers, errors, key problems, the instance and its traffic. */
  async function model(): Promise<StatusModel> {
    const t = now();
    const m = buildStatusModel(
      pollers.snapshot(),
      recentErrors.list(),
      t,
      deps.keyHealth?.problems(),
    );
    const i = deps.instance;
    if (i)
      m.instance = {
        role: deps.role ?? 'all',
        mode: i.mode,
        scenario: i.scenario ? i.scenario() : null,
        upstream: i.upstream,
        version: i.version,
        startedAt: new Date(i.startedAt).toISOString(),
        uptimeSeconds: Math.max(0, Math.round((t - i.startedAt) / 1000)),
      };
    m.traffic = deps.traffic ? await deps.traffic.view(i?.startedAt ?? t) : null;
    return m;
  }

  router.get('/status', async (_req, res) => {
    common(res).json({ role: deps.role ?? 'all', ...(await model()) });
  });

  router.get('/', async (_req, res) => {
    const m = await model();
    common(res)
      // Inline styles only; no scripts, no external anything.
      .set(
        'content-security-policy',
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      )
      .type('html')
      .send(renderOverview(m));
  });

  router.get('/support/:grantId', (req, res, next) => {
    const grantId = req.params.grantId;
    if (!grantId || grantId.length > MAX_GRANT_ID_LENGTH || /\s/.test(grantId)) {
      common(res).status(404).type('text/plain').send('Not a grant ID.\n');
      return;
    }
    pollers
      .lookupGrant(grantId)
      .then((lookup) => {
        const grant = lookup.found ? lookup.grant : undefined;
        const errors = recentErrors.list();
        const seen = errors.some((r) => r.grantId === grantId || (grant && r.grantId === grant.id));
        if (!grant && !seen && lookup.found === false && lookup.reason === 'busy') {
          // Other lookups are asking Nylas: answered at once, without a call of its own.
          common(res)
            .status(503)
            .set('retry-after', '1')
            .type('text/plain')
            .send('Busy looking up other grants; try again in a second.\n');
          return;
        }
        if (!grant && !seen) {
          const why =
            lookup.found === false && lookup.reason === 'not_found'
              ? 'Nylas answered 404 for it'
              : 'Nylas could not be asked (no API key, or the lookup failed)';
          common(res)
            .status(404)
            .type('text/plain')
            .send(
              `Unknown grant ${grantId}: it is not among the invalid grants of the last poll, ${why}, and no recent upstream error names it.\n`,
            );
          return;
        }
        const snap = pollers.snapshot();
        const text = renderSupportTicket({
          grantId,
          grant,
          grantSource: lookup.found ? lookup.source : undefined,
          grantCheckedAt: lookup.found
            ? lookup.source === 'poll'
              ? snap.grants?.at
              : (lookup.checkedAt ?? now())
            : undefined,
          errors,
          grants: snap.grants,
          statusPage: snap.statusPage,
          apiHost: deps.apiHost ?? 'unknown',
          now: now(),
          keyProblems: deps.keyHealth?.problems(),
        });
        common(res).type('text/plain').send(text);
      })
      .catch(next);
  });

  return router;
}
