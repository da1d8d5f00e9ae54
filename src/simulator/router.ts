// Routes one request: the control API, the status page, v2, and v3 behind authentication, the
// application rate limit and the faults. Every answer carries x-request-id.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimContext } from './context.js';
import { apiFaults, edgeFaults, familyOf } from './fault-gate.js';
import type { Exchange } from './http.js';
import { BadRequest, sendJson, sendNylasError, sendV2Error } from './http.js';
import { handleChannels } from './channels.js';
import { handleV2 } from './v2.js';
import { handleGrants, handleWebhooks } from './v3-app.js';
import { handleGrantScoped } from './v3-grant.js';

function parseParts(pathname: string): string[] {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    throw new BadRequest('the path has an invalid percent-escape');
  }
}

/** Nylas's per-application limit: a sliding one-second window per API family. */
function createAppLimiter(ctx: SimContext): (family: 'grants' | 'webhooks') => boolean {
  const windows = { grants: [] as number[], webhooks: [] as number[] };
  return (family) => {
    const t = ctx.now();
    const w = windows[family];
    while (w.length > 0 && w[0]! <= t - 1000) w.shift();
    if (w.length >= ctx.grantsRateLimitPerSecond) return true;
    w.push(t);
    return false;
  };
}

/** The request listener of the simulator's server. */
export function createRequestHandler(
  ctx: SimContext,
  control: (x: Exchange) => Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const overAppLimit = createAppLimiter(ctx);
  // The busiest second of the Grants API so far (arrivals, 429s included): what the sidecar's
  // share of the 50 requests/s application limit was at its worst moment.
  const grantsSecond: number[] = [];
  const countGrantsSecond = () => {
    const t = ctx.now();
    grantsSecond.push(t);
    while (grantsSecond[0]! <= t - 1000) grantsSecond.shift();
    ctx.stats.grantsMaxPerSecond = Math.max(ctx.stats.grantsMaxPerSecond, grantsSecond.length);
  };

  async function api(x: Exchange): Promise<void> {
    const family = familyOf(x.parts);
    if (family === 'grants') {
      ctx.stats.grantsRequests++;
      countGrantsSecond();
    }
    if (await edgeFaults(ctx, x, family)) return;
    if (x.parts[0] === 'a') {
      if (apiFaults(ctx, x, family)) return;
      return handleV2(ctx, x);
    }
    if ((x.req.headers.authorization ?? '') !== `Bearer ${ctx.apiKey}`)
      return sendNylasError(
        x,
        401,
        'unauthorized',
        'Unauthorized: the API key is missing or invalid',
      );
    if ((family === 'grants' || family === 'webhooks') && overAppLimit(family)) {
      ctx.stats.rateLimited++;
      return sendNylasError(
        x,
        429,
        'nylas_rate_limit_exceeded',
        'Too many requests. Please try again later.',
        {
          headers: { 'retry-after': '1' },
        },
      );
    }
    if (apiFaults(ctx, x, family)) return;
    if (x.parts[1] === 'webhooks') return handleWebhooks(ctx, x);
    if (x.parts[1] === 'channels') return handleChannels(ctx, x);
    if (x.parts[1] !== 'grants')
      return sendNylasError(x, 404, 'not_found_error', 'route not found');
    if (x.parts.length <= 3) return handleGrants(ctx, x);
    const g = ctx.grants.indexOf(x.parts[2]!);
    if (g < 0) return sendNylasError(x, 404, 'not_found_error', 'grant not found');
    if (ctx.grants.status(g, ctx.faults) === 'invalid')
      return sendNylasError(
        x,
        401,
        'unauthorized',
        'The grant is invalid: the user must re-authenticate',
        {
          providerError: {
            error: 'invalid_grant',
            error_description: 'Token has been expired or revoked.',
          },
        },
      );
    return handleGrantScoped(ctx, x, g);
  }

  return async (req, res) => {
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    res.setHeader('x-fastly-id', `sim-${requestId.slice(0, 8)}`);
    const x: Exchange = { req, res, requestId, url: new URL('http://sim/'), parts: [] };
    try {
      x.url = new URL(req.url ?? '/', 'http://sim');
      x.parts = parseParts(x.url.pathname);
      if (x.parts[0] === '_simulator') return await control(x);
      ctx.stats.requests++;
      if ((req.headers['user-agent'] ?? '').startsWith('nylas-sidecar'))
        ctx.stats.sidecarRequests++;
      if (
        x.url.pathname.startsWith('/api/v2/') ||
        x.url.pathname.startsWith('/status-v3/api/v2/')
      ) {
        if (!ctx.statusPage.handle(x)) sendJson(res, 404, { error: 'Not found' });
        return;
      }
      if (x.parts[0] === 'v3' || x.parts[0] === 'a') return await api(x);
      sendNylasError(x, 404, 'not_found_error', 'route not found');
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
      } else if (err instanceof BadRequest) {
        if (x.parts[0] === 'a') sendV2Error(x, 400, 'invalid_request_error', err.message);
        else sendNylasError(x, 400, 'invalid_request_error', err.message);
      } else {
        sendNylasError(x, 500, 'api.internal_error', `simulator bug: ${(err as Error).message}`);
      }
    }
  };
}
