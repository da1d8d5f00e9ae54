import express, { type Express, type Router } from 'express';
import type { Logger } from '../log/index.js';
import { createExposition, type Metrics } from '../metrics/index.js';
import { adminErrorHandler, adminNotFound } from './errors.js';

/** What the admin endpoints need to know about the running sidecar. */
export interface AdminState {
  /** False until every listener is up, and again once shutdown starts. */
  ready(): boolean;
}

export interface AdminOptions {
  metrics: Metrics;
  state: AdminState;
  /** Where failed admin requests are logged (one JSON line each). */
  logger: Logger;
  /** Extra routes (status pages), mounted after the built-in ones. */
  routers?: Router[];
}

/** Builds the admin listener's app: /metrics, /healthz, /readyz and any extra routers. */
export function createAdminApp({ metrics, state, logger, routers = [] }: AdminOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const expose = createExposition(metrics.registry);

  app.get('/metrics', (req, res, next) => {
    expose(req.get('accept'))
      .then(({ contentType, body }) => {
        res.set('content-type', contentType).set('cache-control', 'no-store').send(body);
      })
      .catch(next);
  });
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    const ok = state.ready();
    res
      .status(ok ? 200 : 503)
      .type('text/plain')
      .send(ok ? 'ready\n' : 'not ready\n');
  });
  for (const r of routers) app.use(r);
  // Last: every error and unknown path gets a short JSON answer, whatever NODE_ENV says.
  app.use(adminNotFound);
  app.use(adminErrorHandler(logger));
  return app;
}
