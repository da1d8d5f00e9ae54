import express, { Router } from 'express';

/**
 * Demo mode only: `POST /demo/scenario {"name": "outage"}` on the admin listener switches the
 * in-process simulator's scenario, so the command stays the same whatever port the simulator got.
 * `GET /demo/scenario` shows the current one.
 */
export function createDemoRouter(simulatorUrl: string): Router {
  const router = Router();
  const relay = async (
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    res: express.Response,
  ) => {
    try {
      const r = await fetch(`${simulatorUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      res
        .status(r.status)
        .type('application/json')
        .send(await r.text());
    } catch {
      res.status(502).json({
        error: {
          type: 'sidecar.demo_unavailable',
          message: 'The demo simulator is not answering.',
        },
      });
    }
  };
  router.get('/demo/scenario', (_req, res) => {
    void relay('GET', '/_simulator/state', undefined, res);
  });
  router.post('/demo/scenario', express.json({ limit: '4kb' }), (req, res) => {
    const name = (req.body as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string') {
      res.status(400).json({
        error: { type: 'sidecar.invalid_request', message: 'Send {"name": "<scenario>"}.' },
      });
      return;
    }
    void relay('POST', '/_simulator/scenario', { name }, res);
  });
  return router;
}
