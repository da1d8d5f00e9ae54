import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Express, Router } from 'express';
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
  /**
   * Extra routes (status pages), mounted after the built-in ones; a function is called once, on
   * the first request for a page other than /metrics, /healthz and /readyz.
   */
  routers?: Router[] | (() => Promise<Router[]>);
}

const TEXT = 'text/plain; charset=utf-8';

/**
 * Builds the admin listener's request handler: /metrics, /healthz, /readyz and any extra routers.
 *
 * Those three are what Prometheus and the kubelet ask every replica, so they are answered here on
 * node:http alone; express (with its body parsers and MIME tables, about 8 MB of memory) and the
 * status pages are loaded on the first request for anything else, which most proxy replicas never
 * get. Access control for the admin listener belongs before `fast` below, or it would not cover
 * the three.
 */
export function createAdminApp(opts: AdminOptions): RequestListener {
  const { metrics, state } = opts;
  const expose = createExposition(metrics.registry);
  let full: Promise<Express> | undefined;
  const viaExpress = (req: IncomingMessage, res: ServerResponse) => {
    full ??= expressApp(opts, expose);
    full.then(
      (app) => void app(req, res),
      () => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          '{"error":{"type":"sidecar.internal_error","message":"The admin endpoint failed; see the log."}}',
        );
      },
    );
  };
  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: string,
  ) => {
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const fast = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/healthz') send(req, res, 200, { 'content-type': TEXT }, 'ok\n');
    else if (path === '/readyz') {
      const ok = state.ready();
      send(req, res, ok ? 200 : 503, { 'content-type': TEXT }, ok ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      const accept = req.headers.accept;
      expose(accept).then(
        ({ contentType, body }) =>
          send(req, res, 200, { 'content-type': contentType, 'cache-control': 'no-store' }, body),
        // The express app's error handler logs it and answers the JSON error.
        () => viaExpress(req, res),
      );
    } else return false;
    return true;
  };
  return (req, res) => {
    if (!fast(req, res)) viaExpress(req, res);
  };
}

/** The same endpoints on express, with the extra routers and the JSON error handlers. */
async function expressApp(
  { state, logger, routers = [] }: AdminOptions,
  expose: ReturnType<typeof createExposition>,
): Promise<Express> {
  const [{ default: express }, extra] = await Promise.all([
    import('express'),
    typeof routers === 'function' ? routers() : routers,
  ]);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
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
  for (const r of extra) app.use(r);
  // Last: every error and unknown path gets a short JSON answer, whatever NODE_ENV says.
  app.use(adminNotFound);
  app.use(adminErrorHandler(logger));
  return app;
}
