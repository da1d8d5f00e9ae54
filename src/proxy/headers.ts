import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { connectionTokens, HOP_BY_HOP, relayRequestHeaders } from '../util/hop-by-hop.js';

export { headerValue } from '../util/hop-by-hop.js';

/**
 * The request headers to send upstream (see relayRequestHeaders). Adds `authorization` when
 * `injectAuthorization` is given and the app sent none.
 */
export function upstreamRequestHeaders(
  raw: string[],
  connection: string | undefined,
  injectAuthorization: string | undefined,
): string[] {
  const out = relayRequestHeaders(raw, connection);
  if (injectAuthorization === undefined) return out;
  for (let i = 0; i < out.length; i += 2) if (out[i]!.toLowerCase() === 'authorization') return out;
  out.push('authorization', injectAuthorization);
  return out;
}

/** Removes hop-by-hop headers from an upstream response's parsed headers, in place. */
export function stripResponseHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const extra = connectionTokens(headers.connection);
  for (const name of HOP_BY_HOP) if (name in headers) delete headers[name];
  if (extra) for (const name of extra) delete headers[name];
  return headers;
}
