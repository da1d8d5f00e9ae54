import { request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { parseRetryAfter } from '../util/retry-after.js';
import { REDIRECT_STATUSES } from './redirects.js';

/** Stable codes of a failed call; logs, spans and /status carry these, never messages. */
export type NylasCallErrorCode =
  | 'ERR_NYLAS_HTTP_STATUS'
  | 'ERR_NYLAS_RATE_LIMITED'
  | 'ERR_NYLAS_BAD_RESPONSE'
  | 'ERR_NYLAS_TOO_LARGE'
  | 'ERR_NYLAS_TIMEOUT'
  | 'ERR_NYLAS_ABORTED'
  | 'ERR_NYLAS_TRANSPORT'
  | 'ERR_NYLAS_NO_CREDENTIALS'
  | 'ERR_NYLAS_REDIRECT_REFUSED';

/** A call to Nylas (or the status page) that did not give a usable answer. */
export class NylasCallError extends Error {
  override readonly name = 'NylasCallError';
  readonly status: number | undefined;
  /** From Retry-After on a 429 or 503, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** The Nylas error.type of an error body, when there was one (a closed set is not enforced). */
  readonly errorType: string | undefined;
  readonly requestId: string | undefined;

  constructor(
    readonly code: NylasCallErrorCode,
    message: string,
    extra: {
      status?: number;
      retryAfterMs?: number;
      errorType?: string;
      requestId?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: extra.cause });
    this.status = extra.status;
    this.retryAfterMs = extra.retryAfterMs;
    this.errorType = extra.errorType;
    this.requestId = extra.requestId;
  }
}

export interface CallOptions<S extends z.ZodType> {
  method?: 'GET' | 'POST';
  url: URL;
  /** Built by the caller from config; never logged, never put on a span. */
  authorization?: string;
  signal: AbortSignal;
  schema: S;
  dispatcher?: Dispatcher;
  /** Unix ms; for Retry-After given as an HTTP date. */
  now: () => number;
  /** A page of 200 grants is ~200 KB; anything near this bound is not a Nylas answer. */
  maxBytes?: number;
  /** Told the status code of every answer, or 'error' when none came (request metrics). */
  onAnswer?: (code: string) => void;
  /**
   * Redirects to follow (GET only; default none: a Nylas API answer is never a redirect). Each
   * target must pass `allowed`, else the call fails with ERR_NYLAS_REDIRECT_REFUSED.
   */
  redirects?: { max: number; allowed: (target: URL) => boolean; onFollow?: (target: URL) => void };
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** Error bodies are read only far enough to find error.type and request_id. */
const MAX_ERROR_BYTES = 64 * 1024;

/**
 * Makes one JSON call and parses the answer with `schema` at the boundary. Throws NylasCallError
 * with a stable code for every failure: transport, deadline, non-2xx status, oversized or
 * malformed body.
 */
export async function callJson<S extends z.ZodType>(opts: CallOptions<S>): Promise<z.output<S>> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    'user-agent': 'nylas-sidecar',
  };
  if (opts.authorization) headers.authorization = opts.authorization;
  // POSTs here (v2 downgrade/upgrade) carry no payload; an empty JSON object is what the SDKs send.
  const post = opts.method === 'POST';
  if (post) headers['content-type'] = 'application/json';
  let res: Dispatcher.ResponseData;
  try {
    res = await request(opts.url, {
      method: opts.method ?? 'GET',
      headers,
      signal: opts.signal,
      dispatcher: opts.dispatcher,
      body: post ? '{}' : undefined,
    });
  } catch (err) {
    opts.onAnswer?.('error');
    throw transportError(err, opts.signal);
  }
  opts.onAnswer?.(String(res.statusCode));

  const location = header(res.headers, 'location');
  if (opts.redirects && REDIRECT_STATUSES.has(res.statusCode) && location) {
    await res.body.dump().catch(() => undefined);
    let target: URL | undefined;
    try {
      target = new URL(location, opts.url);
    } catch {
      target = undefined;
    }
    if (!target || opts.redirects.max <= 0 || !opts.redirects.allowed(target))
      throw new NylasCallError(
        'ERR_NYLAS_REDIRECT_REFUSED',
        // The target's host only: a Location may carry a query with tokens.
        `${opts.url.pathname} redirected ${opts.redirects.max <= 0 ? 'too many times' : `to a host outside the configured domain (${target?.hostname ?? 'unparsable'})`}`,
        { status: res.statusCode },
      );
    opts.redirects.onFollow?.(target);
    return callJson({
      ...opts,
      url: target,
      redirects: { ...opts.redirects, max: opts.redirects.max - 1 },
    });
  }

  const ok = res.statusCode >= 200 && res.statusCode < 300;
  let text: string;
  try {
    text = await readText(
      res.body,
      ok ? (opts.maxBytes ?? DEFAULT_MAX_BYTES) : MAX_ERROR_BYTES,
      ok,
    );
  } catch (err) {
    if (err instanceof NylasCallError) throw err;
    throw transportError(err, opts.signal);
  }

  if (!ok) {
    const info = errorInfo(text);
    const retryAfterMs = parseRetryAfter(header(res.headers, 'retry-after'), opts.now());
    const requestId = info.requestId ?? header(res.headers, 'x-request-id');
    const rateLimited = res.statusCode === 429;
    throw new NylasCallError(
      rateLimited ? 'ERR_NYLAS_RATE_LIMITED' : 'ERR_NYLAS_HTTP_STATUS',
      `${opts.method ?? 'GET'} ${opts.url.pathname} answered ${res.statusCode}`,
      { status: res.statusCode, retryAfterMs, errorType: info.type, requestId },
    );
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NylasCallError(
      'ERR_NYLAS_BAD_RESPONSE',
      `${opts.url.pathname}: the body is not JSON`,
      { status: res.statusCode, cause: err },
    );
  }
  const parsed = opts.schema.safeParse(json);
  if (!parsed.success) {
    // Only the paths of the problems, never the values (they may hold emails).
    const where = parsed.error.issues
      .slice(0, 3)
      .map((i) => i.path.join('.') || '(root)')
      .join(', ');
    throw new NylasCallError(
      'ERR_NYLAS_BAD_RESPONSE',
      `${opts.url.pathname}: unexpected JSON shape at ${where}`,
      { status: res.statusCode },
    );
  }
  return parsed.data;
}

async function readText(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
  strict: boolean,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > maxBytes) {
      body.destroy();
      if (strict)
        throw new NylasCallError('ERR_NYLAS_TOO_LARGE', `the body exceeds ${maxBytes} bytes`);
      chunks.push(buf.subarray(0, buf.length - (size - maxBytes)));
      break;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function transportError(err: unknown, signal: AbortSignal): NylasCallError {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    const timeout = reason instanceof DOMException && reason.name === 'TimeoutError';
    return timeout
      ? new NylasCallError('ERR_NYLAS_TIMEOUT', 'the run deadline passed', { cause: err })
      : new NylasCallError('ERR_NYLAS_ABORTED', 'the call was aborted', { cause: err });
  }
  const code =
    err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : '';
  return new NylasCallError('ERR_NYLAS_TRANSPORT', `no response${code ? ` (${code})` : ''}`, {
    cause: err,
  });
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** error.type and request_id of a Nylas v3 error body, or the v2 `type`; nothing else. */
function errorInfo(text: string): { type?: string; requestId?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {};
  }
  if (!json || typeof json !== 'object') return {};
  const out: { type?: string; requestId?: string } = {};
  const rid: unknown = Reflect.get(json, 'request_id');
  if (typeof rid === 'string' && rid.length <= 128) out.requestId = rid;
  const error: unknown = Reflect.get(json, 'error');
  const type: unknown =
    error && typeof error === 'object' ? Reflect.get(error, 'type') : Reflect.get(json, 'type');
  if (typeof type === 'string' && /^[a-z0-9_.-]{1,64}$/i.test(type)) out.type = type;
  return out;
}
