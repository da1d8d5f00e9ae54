import type { OutgoingHttpHeaders } from 'node:http';
import {
  connectionTokens,
  headerValue,
  HOP_BY_HOP,
  relayRequestHeaders,
} from '../util/hop-by-hop.js';

/**
 * The delivery's headers as sent to the app: Nylas's raw header list (names keep their case,
 * repeated headers stay repeated, the signature and content-encoding included), less hop-by-hop.
 */
export function forwardRequestHeaders(
  raw: readonly string[],
  connection: string | undefined,
): string[] {
  return relayRequestHeaders(raw, connection);
}

/** The app's response headers as sent back to Nylas, less hop-by-hop. */
export function relayResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
): OutgoingHttpHeaders {
  const extra = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || extra?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** First value of a parsed header. */
export const firstHeader = headerValue;

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
