import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';

/** The sidecar's own error_type values, for failures where Nylas sent no answer. */
export type TransportErrorType =
  'upstream_unavailable' | 'upstream_timeout' | 'client_aborted' | 'client_timeout';

/** An upstream failure as the app will see it. */
export interface UpstreamFailure {
  /** 502 or 504; 408 for a request body that stalled; 499 for a client that went away. */
  status: 502 | 504 | 499 | 408;
  errorType: TransportErrorType;
  /** What the Nylas-shaped body says; no addresses, no secrets. */
  message: string;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'SIDECAR_DEADLINE',
  'SIDECAR_POOL_WAIT_TIMEOUT',
]);

/** Marks an abort the sidecar made because the app went away. */
export class ClientAbortedError extends Error {
  readonly code = 'SIDECAR_CLIENT_ABORTED';
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientAbortedError';
  }
}

/** Marks an abort the sidecar made because the app's request body stopped arriving. */
export class ClientTimeoutError extends Error {
  readonly code = 'SIDECAR_CLIENT_TIMEOUT';
  constructor() {
    super('the request body stalled');
    this.name = 'ClientTimeoutError';
  }
}

/** Marks a request that waited longer than the upstream timeout for an upstream connection. */
export class PoolWaitTimeoutError extends Error {
  readonly code = 'SIDECAR_POOL_WAIT_TIMEOUT';
  constructor() {
    super('no upstream connection became free in time');
    this.name = 'PoolWaitTimeoutError';
  }
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The one place that maps a transport error (errno, undici code, abort) to the status the app
 * gets and an error_type. Never looks at messages.
 */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = errorCode(err);
  if (code === 'SIDECAR_CLIENT_ABORTED')
    return {
      status: 499,
      errorType: 'client_aborted',
      message: 'The client closed the connection.',
    };
  if (code === 'SIDECAR_CLIENT_TIMEOUT')
    return {
      status: 408,
      errorType: 'client_timeout',
      message: 'The request body stopped arriving: the sidecar stopped waiting for it.',
    };
  if (code !== undefined && TIMEOUT_CODES.has(code))
    return {
      status: 504,
      errorType: 'upstream_timeout',
      message: 'The Nylas API did not answer within the sidecar’s upstream deadline.',
    };
  return {
    status: 502,
    errorType: 'upstream_unavailable',
    message: `The sidecar could not reach the Nylas API (${code ?? 'connection error'}).`,
  };
}

/**
 * Every Nylas error type spelling Nylas's API docs and SDKs show, kept as
 * sent. Anything else is "other", so a label value can never come from an open set.
 */
export const KNOWN_ERROR_TYPES: ReadonlySet<string> = new Set([
  'api.authentication_error',
  'api.internal_error',
  'api.invalid_request_error',
  'api.invalid_request_payload',
  'api.provider_error',
  'api.not_found_error',
  'api.resource_blocked',
  'api.partial_not_found_error',
  'api.partial_success_error',
  'api.rate_limit_error',
  'api.unauthorized',
  'api.invalid_idempotency_key',
  'api.invalid_idempotent_request',
  'api.concurrent_idempotent_request',
  'token.unauthorized_access',
  'token.exchange_failed',
  'grant.callback_uri_not_allowed',
  'authentication_error',
  'internal_error',
  'invalid_request_error',
  'invalid_request_payload',
  'provider_error',
  'not_found_error',
  'partial_not_found_error',
  'partial_success_error',
  'rate_limit_error',
  'resource_blocked',
  'unauthorized',
  'nylas_rate_limit_exceeded',
  // v2
  'api_error',
  'auth_error',
  'sending_error',
  'server_error',
  'not_found',
  // OAuth endpoints answer {"error": "<code>"} (RFC 6749 codes).
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
]);

/** What an error body says, for labels and spans. */
export interface ErrorBodyInfo {
  /** A KNOWN_ERROR_TYPES value, "other", or "unparsed". */
  errorType: string;
  /** The 429 carried a provider_error (the provider throttled, not Nylas). */
  providerError: boolean;
  requestId: string | undefined;
}

const UNPARSED: ErrorBodyInfo = Object.freeze({
  errorType: 'unparsed',
  providerError: false,
  requestId: undefined,
});

function decompress(body: Buffer, encoding: string | undefined): Buffer | undefined {
  const opts = { maxOutputLength: 1 << 20 };
  try {
    switch ((encoding ?? 'identity').trim().toLowerCase()) {
      case 'identity':
      case '':
        return body;
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body, opts);
      case 'deflate':
        return inflateSync(body, opts);
      case 'br':
        return brotliDecompressSync(body, opts);
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Reads the error type from a copy of an error body's first bytes. `complete` is false when
 * the body was longer than the copy (it is then unparsed: the client still got every byte).
 */
export function classifyErrorBody(
  body: Buffer,
  complete: boolean,
  contentEncoding: string | undefined,
): ErrorBodyInfo {
  if (!complete || body.length === 0) return UNPARSED;
  const plain = decompress(body, contentEncoding);
  if (!plain) return UNPARSED;
  let doc: unknown;
  try {
    doc = JSON.parse(plain.toString('utf8'));
  } catch {
    return UNPARSED;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return UNPARSED;
  const d = doc as Record<string, unknown>;
  const requestId = str(d.request_id);
  const error = d.error;
  let type: string | undefined;
  let providerError = false;
  if (error && typeof error === 'object' && !Array.isArray(error)) {
    const e = error as Record<string, unknown>;
    type = str(e.type);
    providerError = e.provider_error !== undefined && e.provider_error !== null;
  } else if (typeof error === 'string') {
    type = error; // OAuth shape
  } else if (typeof d.type === 'string' && typeof d.message === 'string') {
    type = d.type; // v2 shape
  }
  if (type === undefined) return { errorType: 'unparsed', providerError: false, requestId };
  return { errorType: KNOWN_ERROR_TYPES.has(type) ? type : 'other', providerError, requestId };
}
