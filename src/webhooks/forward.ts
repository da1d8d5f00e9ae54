import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';

/** Why the listener gave up on a forward it started; carried as the AbortSignal's reason. */
export class ForwardAbort extends Error {
  constructor(
    /** `deadline`: the app took longer than the observation deadline; `cancelled`: the delivery
     * went away (body too large, sender gone, shutdown). */
    readonly code: 'deadline' | 'cancelled',
  ) {
    super(code === 'deadline' ? 'the app did not answer in time' : 'forward cancelled');
    this.name = 'ForwardAbort';
  }
}

/** How one forward to the app ended. */
export type ForwardResult =
  | {
      kind: 'response';
      status: number;
      headers: Record<string, string | string[] | undefined>;
      body: Dispatcher.ResponseData['body'];
      /** Seconds from sending to the app's response headers. */
      seconds: number;
    }
  | {
      kind: 'error';
      /** `unreachable`: connection refused, reset, DNS...; `deadline`/`cancelled`: see ForwardAbort. */
      reason: 'unreachable' | 'deadline' | 'cancelled';
      seconds: number;
      cause: unknown;
    };

export interface ForwardRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: string[];
  body: Buffer | Readable | undefined;
  signal: AbortSignal;
  dispatcher: Dispatcher;
  /** Monotonic clock in milliseconds. */
  clock: () => number;
}

/**
 * Sends one request to the app and resolves (never rejects) with its response or the reason it
 * has none. This is the one place a forward failure is classified.
 */
export async function forwardToApp(r: ForwardRequest): Promise<ForwardResult> {
  const started = r.clock();
  try {
    const res = await request(r.url, {
      method: r.method,
      headers: r.headers,
      body: r.body,
      signal: r.signal,
      dispatcher: r.dispatcher,
    });
    return {
      kind: 'response',
      status: res.statusCode,
      headers: res.headers,
      body: res.body,
      seconds: (r.clock() - started) / 1000,
    };
  } catch (cause) {
    const reason: unknown = r.signal.aborted ? r.signal.reason : undefined;
    return {
      kind: 'error',
      reason: reason instanceof ForwardAbort ? reason.code : 'unreachable',
      seconds: (r.clock() - started) / 1000,
      cause,
    };
  }
}

/** `2xx`..`5xx` for a status, `error` when there was no response. */
export function statusClass(status: number | undefined): string {
  if (status === undefined || status < 100 || status > 599) return 'error';
  return `${Math.floor(status / 100)}xx`;
}

/** The errno or undici code of a transport error (for logs; never its message). */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
