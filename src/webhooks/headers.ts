import type { OutgoingHttpHeaders } from 'node:http';

/**
 * Headers that describe one connection, not the message (RFC 9110 section 7.6.1), plus the ones
 * the listener sets itself: `host` (the app's), `expect` (Node answers 100-continue to Nylas;
 * undici refuses to send it on).
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

function connectionTokens(value: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  for (const t of joined.split(',')) {
    const name = t.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') out.add(name);
  }
  return out;
}

/**
 * The delivery's headers as sent to the app: Nylas's raw header list (names keep their case,
 * repeated headers stay repeated, the signature and content-encoding included), less hop-by-hop.
 */
export function forwardRequestHeaders(
  raw: readonly string[],
  connection: string | undefined,
): string[] {
  const extra = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (NOT_FORWARDED.has(lower) || extra.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** The app's response headers as sent back to Nylas, less hop-by-hop. */
export function relayResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
): OutgoingHttpHeaders {
  const extra = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || extra.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** First value of a parsed header. */
export function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The forward URL's path and query, with the delivery's own query string appended. */
export function forwardTarget(forwardUrl: URL, incomingUrl: string | undefined): URL {
  const target = new URL(forwardUrl.href);
  const q = (incomingUrl ?? '').indexOf('?');
  const incoming = q >= 0 ? (incomingUrl ?? '').slice(q + 1) : '';
  if (incoming !== '') {
    const own = target.search.replace(/^\?/, '');
    target.search = own === '' ? `?${incoming}` : `?${own}&${incoming}`;
  }
  return target;
}
