/**
 * When the proxy sends a request to Nylas again on the app's behalf, and how long it waits first
 * (at most SIDECAR_RETRY_MAX more attempts; the default, 0, turns retries off). Only what is safe
 * to repeat unseen is repeated: a GET or HEAD without a body, before any of its answer reached
 * the app. Every other answer goes to the app as Nylas gave it, so the app's own retry logic
 * still sees it.
 *
 * Plain functions of numbers and strings: the exchange calls them only once an attempt has
 * failed, and they allocate nothing.
 */

/** Nylas's answers worth another attempt: rate limited, or a gateway's passing failure. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

/**
 * A failure with no answer from Nylas worth another attempt: not the app going away, and not
 * one of the sidecar's own deadlines (the pool wait, a stalled request body), which have already
 * answered the app.
 */
export function isRetryableFailure(errorType: string, ownDeadline: boolean): boolean {
  return errorType !== 'client_aborted' && !ownDeadline;
}

/**
 * Whether a request may be sent once more. `attempt` counts the retries made so far; `framed`
 * is whether the request declared a body (Content-Length or Transfer-Encoding, 0 included):
 * such a body has been streamed upstream and cannot be sent again.
 */
export function mayRetry(
  method: string,
  framed: boolean,
  attempt: number,
  retryMax: number,
): boolean {
  return retryMax > 0 && attempt < retryMax && (method === 'GET' || method === 'HEAD') && !framed;
}

/** Longest wait before a retry; a longer Retry-After is the app's to honour, not the proxy's. */
export const MAX_RETRY_WAIT_MS = 10_000;
/** Base of the exponential backoff when Nylas did not say how long to wait. */
const BACKOFF_BASE_MS = 100;

/**
 * How long to wait before retry number `attempt` (1 for the first): Nylas's Retry-After when it
 * gave one, else full jitter on exponential backoff (a random wait up to 200 ms, 400 ms, ...), so
 * that many proxies retrying at once spread out; never more than MAX_RETRY_WAIT_MS.
 */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  random: number = Math.random(),
): number {
  return Math.min(retryAfterMs ?? random * BACKOFF_BASE_MS * 2 ** attempt, MAX_RETRY_WAIT_MS);
}
