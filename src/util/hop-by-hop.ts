/**
 * Headers that describe one connection, not the message (RFC 9110 section 7.6.1). Shared by the
 * proxy and the webhook listener, which both relay messages between two connections.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
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

/**
 * Request headers never relayed: hop-by-hop ones, `host` (the next hop's own) and `expect` (Node
 * answers 100-continue to the sender; undici refuses to send it on).
 */
const NOT_FORWARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'expect']);

/** Extra header names a `Connection` header lists as hop-by-hop (lower case). */
export function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  // The usual values name no extra header: skip the split.
  if (value === undefined || value === 'keep-alive' || value === 'close') return undefined;
  let extra: Set<string> | undefined;
  for (const t of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = t.trim().toLowerCase();
    if (name && name !== 'keep-alive' && name !== 'close') (extra ??= new Set()).add(name);
  }
  return extra;
}

/**
 * The request headers to relay, from a raw header list (names keep their case, repeated headers
 * stay repeated), less hop-by-hop ones, `host`, `expect` and those `Connection` names.
 */
export function relayRequestHeaders(
  raw: readonly string[],
  connection: string | undefined,
): string[] {
  const extra = connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (NOT_FORWARDED.has(lower) || extra?.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** First value of a parsed header. */
export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
