// Applies the current faults to one API request, before it reaches its route.
import type { SimContext } from './context.js';
import type { RouteFamily } from './faults.js';
import type { Exchange } from './http.js';
import { sendNylasError, sendV2Error } from './http.js';

/** Fastly's edge answer when the origin is down: HTML, not a Nylas JSON body. */
const FASTLY_502 = `<!DOCTYPE html>
<html>
  <head><title>502 Bad Gateway</title></head>
  <body>
    <h1>Error 502 Bad Gateway</h1>
    <p>The upstream server is unavailable, please try again later.</p>
    <h3>Guru Mediation:</h3>
    <p>Details: cache-sim-SIM 0000000000 0000000000</p>
    <hr>
    <p>Varnish cache server</p>
  </body>
</html>
`;

/** The route family of an API path (for fault targeting and the application rate limit). */
export function familyOf(parts: string[]): RouteFamily {
  if (parts[0] === 'a') return 'v2';
  if (parts[0] !== 'v3') return 'other';
  if (parts[1] === 'webhooks') return 'webhooks';
  if (parts[1] !== 'grants') return 'other';
  if (parts.length <= 3) return 'grants';
  const r = parts[3];
  if (r === 'messages' && parts[4] === 'send') return 'send';
  switch (r) {
    case 'messages':
    case 'threads':
    case 'drafts':
    case 'folders':
    case 'attachments':
    case 'events':
    case 'calendars':
    case 'contacts':
      return r;
    case undefined:
    default:
      return 'other';
  }
}

function inFamilies(families: RouteFamily[] | undefined, f: RouteFamily): boolean {
  return families === undefined || families.length === 0 || families.includes(f);
}

/**
 * Edge faults, before authentication: added latency, connection resets, HTML 502s.
 * Returns true when the request has been dealt with.
 */
export async function edgeFaults(
  ctx: SimContext,
  x: Exchange,
  family: RouteFamily,
): Promise<boolean> {
  const f = ctx.faults;
  let delay = f.latencyMs;
  if (f.latencyTailRate > 0 && ctx.random() < f.latencyTailRate)
    delay += -Math.log(1 - ctx.random()) * f.latencyTailMs;
  if (delay > 0) await ctx.sleep(delay);
  if (!inFamilies(f.families, family)) return false;
  if (f.resetRate > 0 && ctx.random() < f.resetRate) {
    x.req.socket.destroy();
    return true;
  }
  if (f.htmlErrorRate > 0 && ctx.random() < f.htmlErrorRate) {
    x.req.resume();
    x.res.writeHead(502, {
      'content-type': 'text/html; charset=utf-8',
      'x-served-by': 'cache-sim-SIM',
    });
    x.res.end(FASTLY_502);
    return true;
  }
  return false;
}

/** API faults, after authentication: 429s of both scopes and error answers. */
export function apiFaults(ctx: SimContext, x: Exchange, family: RouteFamily): boolean {
  const f = ctx.faults;
  const v2 = family === 'v2';
  const retry = { 'retry-after': String(f.retryAfterSeconds) };
  if (inFamilies(f.families, family)) {
    if (f.nylasRateLimitRate > 0 && ctx.random() < f.nylasRateLimitRate) {
      if (v2) sendV2Error(x, 429, 'rate_limit_error', 'Too many requests');
      else
        sendNylasError(
          x,
          429,
          'nylas_rate_limit_exceeded',
          'Too many requests. Please try again later.',
          { headers: retry },
        );
      return true;
    }
    // Provider throttling only exists where a provider is called: grant-scoped data routes.
    const providerScoped = !['grants', 'webhooks', 'v2', 'other'].includes(family);
    if (providerScoped && f.providerRateLimitRate > 0 && ctx.random() < f.providerRateLimitRate) {
      sendNylasError(
        x,
        429,
        'rate_limit_error',
        'The provider is rate limiting requests for this grant.',
        {
          headers: retry,
          providerError: {
            error: { code: 429, message: 'Too many requests', status: 'RESOURCE_EXHAUSTED' },
          },
        },
      );
      return true;
    }
  }
  for (const e of f.errors) {
    if (!inFamilies(e.families, family) || !(ctx.random() < e.rate)) continue;
    const message = e.message ?? `simulated ${e.status}`;
    if (v2) sendV2Error(x, e.status, e.type, message);
    else sendNylasError(x, e.status, e.type, message);
    return true;
  }
  return false;
}
