import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Headers that describe one connection, not the message (RFC 9110 section 7.6.1), plus the ones
 * the sidecar must set itself: `host` (the upstream's), `expect` (Node answers 100-continue to the
 * app; undici refuses to send it on).
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'host', 'expect']);

/** Extra header names a `Connection` header lists as hop-by-hop. */
function connectionTokens(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  let extra: Set<string> | undefined;
  for (const t of value.split(',')) {
    const name = t.trim().toLowerCase();
    if (name && name !== 'keep-alive' && name !== 'close') (extra ??= new Set()).add(name);
  }
  return extra;
}

/**
 * The request headers to send upstream, from the app's raw header list (names keep their case,
 * repeated headers stay repeated). Adds `authorization` when `injectAuthorization` is given and
 * the app sent none.
 */
export function upstreamRequestHeaders(
  raw: string[],
  connection: string | undefined,
  injectAuthorization: string | undefined,
): string[] {
  const extra = connectionTokens(connection);
  const out: string[] = [];
  let hasAuth = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (NOT_FORWARDED.has(lower) || extra?.has(lower)) continue;
    if (lower === 'authorization') hasAuth = true;
    out.push(name, raw[i + 1]!);
  }
  if (injectAuthorization !== undefined && !hasAuth) out.push('authorization', injectAuthorization);
  return out;
}

/** Removes hop-by-hop headers from an upstream response's parsed headers, in place. */
export function stripResponseHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const conn = headers.connection;
  const extra = connectionTokens(Array.isArray(conn) ? conn.join(',') : conn);
  for (const name of HOP_BY_HOP) if (name in headers) delete headers[name];
  if (extra) for (const name of extra) delete headers[name];
  return headers;
}

/** First value of a parsed header. */
export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
