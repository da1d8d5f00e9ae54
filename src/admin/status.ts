import { Router, type Response } from 'express';
import type { Pollers } from '../pollers/index.js';
import type { RecentErrors } from '../proxy/recent-errors.js';
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

  router.get('/status', (_req, res) => {
    const model = buildStatusModel(pollers.snapshot(), recentErrors.list(), now());
    common(res).json({ role: deps.role ?? 'all', ...model });
  });

  router.get('/', (_req, res) => {
    const model = buildStatusModel(pollers.snapshot(), recentErrors.list(), now());
    common(res)
      // Inline styles only; no scripts, no external anything.
      .set(
        'content-security-policy',
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      )
      .type('html')
      .send(renderOverview(model));
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
              : (lookup.at ?? now())
            : undefined,
          errors,
          grants: snap.grants,
          statusPage: snap.statusPage,
          apiHost: deps.apiHost ?? 'unknown',
          now: now(),
        });
        common(res).type('text/plain').send(text);
      })
      .catch(next);
  });

  return router;
}
