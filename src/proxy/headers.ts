import type { IncomingHttpHeaders } from 'node:http';
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

/**
 * An upstream response's parsed headers as the flat [name, value, ...] list writeHead takes, less
 * hop-by-hop ones and those its `Connection` header names. Built by one pass over the names, not
 * by deleting from the object: a delete turns it into a slow dictionary that writeHead then walks.
 */
export function responseHeaderList(headers: IncomingHttpHeaders): string[] {
  const extra = connectionTokens(headers.connection);
  const out: string[] = [];
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || extra?.has(name)) continue;
    const value = headers[name];
    if (typeof value === 'string') out.push(name, value);
    else if (value !== undefined) for (const v of value) out.push(name, v);
  }
  return out;
}
