import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from '../log/index.js';

/** The admin listener's own error types, in the `{"error": {"type", "message"}}` shape. */
export type AdminErrorType =
  'sidecar.invalid_request' | 'sidecar.not_found' | 'sidecar.internal_error';

function sendAdminError(res: Response, status: number, type: AdminErrorType, message: string) {
  res
    .status(status)
    .set('cache-control', 'no-store')
    .set('x-content-type-options', 'nosniff')
    .type('application/json')
    .send(JSON.stringify({ error: { type, message } }));
}

/** Answers any path no router took: a short JSON 404 that does not echo the path. */
export const adminNotFound: RequestHandler = (_req, res) => {
  sendAdminError(res, 404, 'sidecar.not_found', 'No such admin endpoint.');
};

/** The status an error asks for when it is a client error (body-parser, router decoding). */
function clientStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const s =
    (err as { status?: unknown; statusCode?: unknown }).status ??
    (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' && Number.isInteger(s) && s >= 400 && s < 500 ? s : undefined;
}

/**
 * The last handler of the admin app. Express's own one renders the stack trace as HTML and prints
 * it to stderr unless NODE_ENV=production (and `npm start` leaves NODE_ENV unset); this one answers
 * a short JSON error and writes one JSON log line with the error's class and code only, never its
 * message or stack (a message may quote the request, and a stack names files on the host).
 */
export function adminErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const status = clientStatus(err) ?? 500;
    const e = err instanceof Error ? (err as NodeJS.ErrnoException) : undefined;
    logger[status >= 500 ? 'error' : 'info'](
      {
        event: 'admin_error',
        status,
        method: req.method,
        error_name: e?.name ?? typeof err,
        error_code: typeof e?.code === 'string' ? e.code : undefined,
      },
      status >= 500 ? 'admin request failed' : 'admin request rejected',
    );
    if (res.headersSent) {
      // Part of an answer is out: the client can only learn of the failure by a cut connection.
      res.destroy();
      return;
    }
    if (status >= 500)
      sendAdminError(res, 500, 'sidecar.internal_error', 'The admin endpoint failed; see the log.');
    else if (status === 404) sendAdminError(res, 404, 'sidecar.not_found', 'Not found.');
    else sendAdminError(res, status, 'sidecar.invalid_request', 'The request is malformed.');
  };
}
