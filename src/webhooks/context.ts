import type { GrantHealth } from '../credentials/index.js';
import type { ServerResponse } from 'node:http';
import type { Tracer } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { Metrics } from '../metrics/index.js';
import type { DedupeWindow } from './dedupe.js';

/** The listener's time limits, in milliseconds. */
export interface WebhookTimings {
  /**
   * When the app has not answered a notification by then (from its arrival), Nylas gets 504.
   * 9 s: under Nylas's 10 s per-attempt timeout, so Nylas sees our failure, not its own timeout.
   */
  answerDeadlineMs: number;
  /**
   * How long the forward keeps going after Nylas was answered 504, so the app's real response
   * time still lands in nylas_webhook_forward_duration_seconds (a 12 s endpoint shows as 12 s).
   */
  observeDeadlineMs: number;
  /** How long the app gets to echo a challenge before the listener echoes it itself. */
  challengeDeadlineMs: number;
  /** Slow senders: all headers must arrive within this. */
  headersTimeoutMs: number;
  /** Slow senders: the whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
}

/** What the request handlers share. */
export interface ListenerContext {
  readonly config: Config;
  readonly forwardUrl: URL;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly timings: WebhookTimings;
  readonly maxBodyBytes: number;
  /** Memory for bodies in flight, shared by all deliveries (see MAX_BUFFERED_BYTES). */
  readonly bodyBudget: ByteBudget;
  readonly dedupe: DedupeWindow;
  /** Grant health from grant.* notifications (verified ones only); absent in some tests. */
  readonly grantHealth: GrantHealth | undefined;
  readonly dispatcher: Dispatcher;
  /** Wall clock, milliseconds since the epoch (delivery lag, last-notification time). */
  readonly now: () => number;
  /** Monotonic clock, milliseconds (durations, deadlines). */
  readonly clock: () => number;
  /** Aborted when the listener's drain time is over: forwards still running give up. */
  readonly shutdown: AbortSignal;
  /** Registers work that stop() waits for (forwards observed after Nylas was answered). */
  track(work: Promise<unknown>): void;
}

/** A shared allowance of bytes. */
export interface ByteBudget {
  /** Takes `bytes` if that many are left. */
  take(bytes: number): boolean;
  give(bytes: number): void;
}

/** Creates a budget of `limit` bytes. */
export function createByteBudget(limit: number): ByteBudget {
  let used = 0;
  return {
    take(bytes) {
      if (used + bytes > limit) return false;
      used += bytes;
      return true;
    },
    give(bytes) {
      used = Math.max(0, used - bytes);
    },
  };
}

/** Error codes of the listener's own answers, in `x-nylas-sidecar-error` and the JSON body. */
export type ListenerErrorType =
  | 'sidecar.webhook_bad_signature'
  | 'sidecar.webhook_body_too_large'
  | 'sidecar.webhook_listener_busy'
  | 'sidecar.webhook_app_timeout'
  | 'sidecar.webhook_app_unavailable'
  | 'sidecar.webhook_method_not_allowed'
  | 'sidecar.webhook_missing_challenge';

/** Answers with the listener's own JSON error (never a secret, never the body it received). */
export function sendListenerError(
  res: ServerResponse,
  status: number,
  type: ListenerErrorType,
  message: string,
  extraHeaders: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ error: { type, message } });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-nylas-sidecar-error': type,
    ...extraHeaders,
  });
  res.end(body);
}
