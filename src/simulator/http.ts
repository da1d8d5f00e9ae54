// Small HTTP helpers shared by the simulator's routes: Nylas envelopes, errors, bodies, paging.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

/** Per-request facts every handler needs. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  url: URL;
  /** Path segments, already percent-decoded one by one. */
  parts: string[];
}

/** Nylas leaves bodies under about 200 bytes uncompressed (Spec "Enable compression"). */
const GZIP_MIN_BYTES = 200;

/** Writes a JSON answer, gzip-compressed when the client asks for it and the body is not tiny. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = Buffer.from(JSON.stringify(body), 'utf8');
  const gzip =
    text.length >= GZIP_MIN_BYTES &&
    /\bgzip\b/.test(String(res.req?.headers['accept-encoding'] ?? ''));
  const payload = gzip ? gzipSync(text) : text;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': payload.length,
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    ...headers,
  });
  res.end(payload);
}

/** A Nylas v3 error body `{request_id, error: {type, message, provider_error?}}`. */
export function sendNylasError(
  x: Exchange,
  status: number,
  type: string,
  message: string,
  extra: { providerError?: unknown; headers?: Record<string, string> } = {},
): void {
  x.req.resume();
  const error: Record<string, unknown> = { type, message };
  if (extra.providerError !== undefined) error.provider_error = extra.providerError;
  sendJson(x.res, status, { request_id: x.requestId, error }, extra.headers);
}

/** A v2 error body `{message, type}`. */
export function sendV2Error(x: Exchange, status: number, type: string, message: string): void {
  x.req.resume();
  sendJson(x.res, status, { message, type });
}

/** Thrown by body readers and parsers; answered as 400 invalid_request_error. */
export class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

/** Reads a JSON body up to `limit` bytes. */
export async function readJson(req: IncomingMessage, limit = 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BadRequest(`request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequest('request body is not valid JSON');
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Nylas's documented maximum page size. */
export const MAX_LIMIT = 200;

/** Parses `limit` (default `dflt`, 1..max) or throws BadRequest. */
export function parseLimit(url: URL, dflt: number, max = MAX_LIMIT): number {
  const raw = url.searchParams.get('limit');
  if (raw === null || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new BadRequest(`limit must be an integer from 1 to ${max}`);
  return n;
}

export function parseOffset(url: URL): number {
  const raw = url.searchParams.get('offset');
  if (raw === null || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new BadRequest('offset must be an integer >= 0');
  return n;
}

/** Opaque cursor for an offset into a list. */
export function encodeCursor(offset: number): string {
  return Buffer.from(`sim:${offset}`).toString('base64url');
}

export function decodeCursor(token: string | null): number {
  if (token === null || token === '') return 0;
  const m = /^sim:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw new BadRequest('page_token is invalid');
  return Number(m[1]);
}

/** One page of a cursor-paginated list of `total` items built by `make(index)`. */
export function cursorPage<T>(
  url: URL,
  total: number,
  make: (i: number) => T,
  dfltLimit = 50,
): { data: T[]; next_cursor?: string } {
  const limit = parseLimit(url, dfltLimit);
  const start = decodeCursor(url.searchParams.get('page_token'));
  const end = Math.min(total, start + limit);
  const data: T[] = [];
  for (let i = start; i < end; i++) data.push(make(i));
  return end < total ? { data, next_cursor: encodeCursor(end) } : { data };
}

/** Cursor paging over an already filtered array. */
export function cursorPageOf<T>(url: URL, items: T[], dfltLimit = 50) {
  return cursorPage(url, items.length, (i) => items[i]!, dfltLimit);
}
