import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import {
  classifyErrorBody,
  classifyUpstreamError,
  ClientAbortedError,
  ClientTimeoutError,
  PoolWaitTimeoutError,
} from './classify.js';
import { headerValue, responseHeaderList } from './headers.js';
import type { Outcome } from './recorder.js';
import type { ProxyContext } from './context.js';
import type { RouteMatch } from './routes.js';
import type { ProxySpan } from '../tracing/index.js';
import type { Watched } from './sweeper.js';
import { safeReasonPhrase } from './reason-phrase.js';
import { isRetryableFailure, isRetryableStatus, mayRetry, retryDelayMs } from './retry-policy.js';
import { parseRetryAfter } from '../util/retry-after.js';

/** Bytes of an error body copied aside to read its error type (the app gets them all anyway). */
const SNIFF_LIMIT = 16 * 1024;
/**
 * A request body that brings fewer bytes than this in one stall window (SIDECAR_UPSTREAM_TIMEOUT_MS,
 * at most 10 s), while the proxy is ready to read, has stalled: about 100 bytes a second at the
 * default, far below any app that means to finish its upload, far above a client that trickles a
 * byte a second to hold an upstream connection.
 */
const MIN_BODY_PROGRESS = 1024;

/**
 * Where an exchange is in its life. Each undici callback, the sweeper and the retry timer act by
 * phase. The phases only move forward, except that a retry goes Discarding (or Requesting, on a
 * transport error) to BackingOff and back to Requesting.
 */
const enum Phase {
  /** An attempt is handed to the pool; no answer yet. `controller` is set once it has started. */
  Requesting,
  /** A retryable answer (429, 502, 503, 504) is arriving: its body is read and dropped. */
  Discarding,
  /** Waiting on the retry timer: nothing upstream is open. */
  BackingOff,
  /** The app's response head is written: Nylas's answer, or the sidecar's own error. */
  Responding,
  /** Recorded: metrics and span are out, every later callback is ignored. */
  Done,
}

/** One request as the proxy's request handler hands it over. */
export interface ExchangeOptions {
  ctx: ProxyContext;
  req: IncomingMessage;
  res: ServerResponse;
  match: RouteMatch;
  /** The request's method, or `_OTHER` for one outside the known set. */
  method: string;
  /** The headers sent upstream, as a flat name, value list. */
  headers: string[];
  /** performance.now() when the request arrived. */
  start: number;
  /** The request's span; undefined when no spans are exported. */
  span: ProxySpan | undefined;
}

/**
 * One proxied request: dispatches it upstream with undici's handler API and writes the response
 * straight into the app's ServerResponse (no intermediate stream, no pipeline: each
 * of those costs allocations and ticks on every request), honouring backpressure both ways.
 *
 * Its fields are flat, not grouped in objects, so that a request allocates the exchange and
 * nothing more; they are all set in the constructor, so every exchange has one shape.
 */
export class Exchange implements Dispatcher.DispatchHandler, Watched {
  private readonly ctx: ProxyContext;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;
  private readonly match: RouteMatch;
  private readonly method: string;
  private readonly headers: string[];
  private readonly start: number;
  private readonly span: ProxySpan | undefined;
  private readonly hasBody: boolean;
  /** The request said how long its body is (Content-Length or Transfer-Encoding), 0 included. */
  private readonly framed: boolean;

  private phase = Phase.Requesting;
  /** The app closed its connection before its response was finished. */
  private clientGone = false;
  /** In the sweeper's set (see dispatch). */
  private watched = false;

  // The current attempt.
  /** undici's handle on the attempt; undefined until it has started (and between attempts). */
  private controller: Dispatcher.DispatchController | undefined;
  /** Retries made so far. */
  private attempt = 0;
  /** performance.now() when the current attempt was handed to the pool. */
  private attemptStart = 0;
  /** Nylas's Retry-After on the answer being discarded, in ms. */
  private retryAfter: number | undefined;

  // The answer that goes to the app.
  /** Its status; 0 until one is known. */
  private status = 0;
  private requestId: string | undefined;
  private providerRequests = 0;
  private gmailQuota = 0;
  /** Its Content-Length, or -1 when it has none. */
  private expectedLength = -1;
  private bytes = 0;
  /** The whole body, when it came in one chunk: sent with end() to save a write. */
  private held: Buffer | undefined;
  /** An error answer's first bytes, read for its error type; undefined for a success. */
  private sniff: Buffer[] | undefined;
  private sniffBytes = 0;
  private contentEncoding: string | undefined;

  /** The current stall window of the request body: its start and the socket's bytesRead then. */
  private windowStart = 0;
  private windowBytes = 0;

  constructor(o: ExchangeOptions) {
    const req = o.req;
    this.ctx = o.ctx;
    this.req = req;
    this.res = o.res;
    this.match = o.match;
    this.method = o.method;
    this.headers = o.headers;
    this.start = o.start;
    this.span = o.span;
    o.ctx.metrics.inflight.value++;
    // req.headers is a getter (a megamorphic load each time): read once.
    const h = req.headers;
    const length = h['content-length'];
    const chunked = h['transfer-encoding'] !== undefined;
    this.hasBody = length !== undefined ? length !== '0' : chunked;
    this.framed = length !== undefined || chunked;
    // on rather than once: once() allocates a wrapper per request.
    o.res.on('close', this.onClientClose);
  }

  run(): void {
    this.dispatch();
  }

  private dispatch(): void {
    const c = this.ctx;
    const hasBody = this.hasBody;
    this.phase = Phase.Requesting;
    this.attemptStart = performance.now();
    this.windowStart = 0;
    // Uploads get their own pool: clients that send their bodies slowly hold upstream
    // connections, and must not make requests without a body wait for one.
    const free = (hasBody ? c.uploadPool : c.pool).dispatch(
      {
        path: c.basePath + this.req.url!,
        method: this.method,
        headers: this.headers,
        body: hasBody ? this.req : null,
        headersTimeout: c.timeoutMs,
        bodyTimeout: c.timeoutMs,
      },
      this,
    );
    // dispatch() answers false once the pool has no free connection left: only then may this
    // request wait for one. Watching every request would keep each finished exchange (and its
    // req and res) alive until the next sweep, which costs the garbage collector on the hot path.
    if (!this.watched && (hasBody || (!free && this.controller === undefined))) {
      this.watched = true;
      c.sweeper.add(this);
    }
  }

  /**
   * Called by the proxy's sweeper: bounds the wait for an upstream connection (504
   * upstream_timeout) and a request body that stops arriving (408 client_timeout).
   */
  check(now: number): boolean {
    const phase = this.phase;
    if (phase === Phase.Done) return (this.watched = false);
    const c = this.ctx;
    if (this.controller === undefined) {
      // Between retries nothing waits on the pool; the retry timer is bounded already.
      if (phase === Phase.Requesting && now - this.attemptStart >= c.timeoutMs)
        this.failEarly(new PoolWaitTimeoutError());
      return (this.watched = this.phase !== Phase.Done);
    }
    if (!this.hasBody || this.req.complete || phase === Phase.Responding)
      return (this.watched = false);
    const bytes = this.req.socket?.bytesRead ?? 0;
    // Only time the client while the proxy is reading: a body paused because the upstream reads
    // slowly is not the client's fault.
    if (this.windowStart === 0 || this.req.readableFlowing !== true) {
      this.windowStart = now;
      this.windowBytes = bytes;
      return true;
    }
    if (now - this.windowStart < c.stallWindowMs) return true;
    if (bytes - this.windowBytes < MIN_BODY_PROGRESS) {
      this.failEarly(new ClientTimeoutError());
      return (this.watched = false);
    }
    this.windowStart = now;
    this.windowBytes = bytes;
    return true;
  }

  /**
   * Answers the app now (the sidecar's own 504 or 408) and cancels the upstream request, whether
   * it has started or still waits for a connection (then onRequestStart cancels it).
   */
  private failEarly(err: PoolWaitTimeoutError | ClientTimeoutError): void {
    // A client whose body stalled, or whose body the upstream never saw, is not worth keeping
    // the connection for (reading the rest of its body only to drop it).
    if (err instanceof ClientTimeoutError || (this.hasBody && !this.req.complete))
      this.res.shouldKeepAlive = false;
    this.onResponseError(undefined, err);
    this.controller?.abort(err);
  }

  private readonly onClientClose = (): void => {
    if (this.res.writableFinished || this.phase === Phase.Done) return;
    this.clientGone = true;
    this.controller?.abort(new ClientAbortedError());
    // Between retries nothing upstream is open to report the abort: finish now.
    if (this.phase === Phase.BackingOff)
      this.finish(classifyUpstreamError(new ClientAbortedError()).errorType);
  };

  private readonly resume = (): void => {
    this.controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new ClientAbortedError());
    // Done before it started: the sidecar answered 504 while the request waited for a
    // connection (a body stall is only timed once the request has started).
    else if (this.phase === Phase.Done) controller.abort(new PoolWaitTimeoutError());
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    // Done already: the sidecar answered 408 itself and cancelled the attempt; a head that was
    // on its way must not move the exchange out of Done.
    if (statusCode < 200 || this.phase === Phase.Done) return;
    this.status = statusCode;
    if (isRetryableStatus(statusCode) && this.mayRetry()) {
      // Drain this attempt's body (small, an error) and try again once it ends.
      this.phase = Phase.Discarding;
      this.retryAfter = parseRetryAfter(headerValue(headers['retry-after']), Date.now());
      return;
    }
    this.phase = Phase.Responding;
    this.requestId = headerValue(headers['x-request-id']);
    const prc = headers['nylas-provider-request-count'];
    if (prc !== undefined) this.providerRequests = Number(headerValue(prc)) || 0;
    const gq = headers['nylas-gmail-quota-usage'];
    if (gq !== undefined) this.gmailQuota = Number(headerValue(gq)) || 0;
    if (statusCode >= 400) {
      this.sniff = [];
      this.contentEncoding = headerValue(headers['content-encoding']);
    }
    const len = headers['content-length'];
    this.expectedLength = len === undefined ? -1 : Number(headerValue(len));
    if (this.clientGone) return;
    const out = responseHeaderList(headers);
    const reason = safeReasonPhrase(statusCode, statusMessage);
    if (reason) this.res.writeHead(statusCode, reason, out);
    else this.res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.phase === Phase.Discarding) return;
    this.bytes += chunk.length;
    if (this.sniff !== undefined && this.sniffBytes <= SNIFF_LIMIT) {
      this.sniff.push(chunk);
      this.sniffBytes += chunk.length;
    }
    // A body that arrives whole in one chunk (most JSON answers) goes out with end(): one
    // writev for headers and body instead of two. Only when Content-Length says it is the whole
    // body, so a streamed response (delta/streaming) is never held back.
    if (this.bytes === chunk.length && chunk.length === this.expectedLength) {
      this.held = chunk;
      return;
    }
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.resume);
    }
  }

  onResponseEnd(): void {
    if (this.phase === Phase.Discarding) {
      this.scheduleRetry(String(this.status), this.retryAfter);
      return;
    }
    if (this.held !== undefined) this.res.end(this.held);
    else this.res.end();
    this.held = undefined;
    let errorType = '';
    let providerError = false;
    if (this.sniff !== undefined) {
      const info = classifyErrorBody(
        Buffer.concat(this.sniff),
        this.sniffBytes <= SNIFF_LIMIT,
        this.contentEncoding,
      );
      errorType = info.errorType;
      providerError = info.providerError;
      this.requestId ??= info.requestId;
    }
    this.finish(errorType, providerError);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.phase === Phase.Done) return;
    const failure = classifyUpstreamError(this.clientGone ? new ClientAbortedError() : err);
    const ownDeadline = err instanceof PoolWaitTimeoutError || err instanceof ClientTimeoutError;
    const responded = this.phase === Phase.Responding;
    if (!responded && isRetryableFailure(failure.errorType, ownDeadline) && this.mayRetry()) {
      this.scheduleRetry(failure.errorType, undefined);
      return;
    }
    if (failure.errorType === 'client_aborted' || this.clientGone) {
      this.finish('client_aborted');
      return;
    }
    if (responded) {
      // Headers are out: the app sees a truncated body, which is the truth.
      this.res.destroy();
      this.finish(failure.errorType);
      return;
    }
    const requestId = `sidecar-${randomUUID()}`;
    const body = JSON.stringify({
      request_id: requestId,
      error: { type: `sidecar.${failure.errorType}`, message: failure.message },
    });
    this.status = failure.status;
    this.requestId = requestId;
    this.res.writeHead(failure.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestId,
      'x-nylas-sidecar-error': failure.errorType,
    });
    this.res.end(body);
    this.phase = Phase.Responding;
    this.finish(failure.errorType);
  }

  private mayRetry(): boolean {
    return !this.clientGone && mayRetry(this.method, this.framed, this.attempt, this.ctx.retryMax);
  }

  /** Records the failed attempt and sends the request again after the policy's wait. */
  private scheduleRetry(reason: string, retryAfterMs: number | undefined): void {
    this.phase = Phase.BackingOff;
    this.recordAttemptSpan(reason);
    this.ctx.metrics.apiRetries.inc({ route: this.match.route, reason });
    this.attempt++;
    this.controller = undefined;
    setTimeout(
      () => {
        if (this.clientGone || this.phase === Phase.Done) return;
        this.status = 0;
        this.dispatch();
      },
      retryDelayMs(this.attempt, retryAfterMs),
    ).unref();
  }

  /** A child span for an attempt that will be retried (the request's span covers them all). */
  private recordAttemptSpan(outcome: string): void {
    const parent = this.span;
    if (!parent) return;
    this.ctx.spans!.attempt(parent, this.attemptStart, performance.now(), {
      resendCount: this.attempt,
      statusCode: this.status,
      errorType: outcome,
    });
  }

  /**
   * The response ended before the app finished sending its body (the upstream answered early: a
   * 401 or 429 to a large send). undici destroys the request stream once the upstream stops
   * reading it, leaving the app's connection paused mid-body: the app's next request on it would
   * wait for the keep-alive timeout and then be reset. Read the rest of the body and drop it, as
   * Node does for a body no handler read, so the connection carries the next request at once.
   */
  private discardRestOfBody(): void {
    const req = this.req as IncomingMessage & { _dumped?: boolean };
    const socket = this.res.socket;
    if (!socket) return;
    const resume = () => {
      // Read whole after all (Node's own dump did it): the socket may be carrying the next
      // request by now, and must not be resumed behind that request's back.
      if (req.complete) return;
      // Node's parser hands body bytes of a dumped request to no one instead of pausing on them.
      req._dumped = true;
      if (!socket.destroyed) socket.resume();
    };
    if (req.destroyed) resume();
    else req.once('close', resume);
  }

  private finish(errorType: string, providerError = false): void {
    if (this.phase === Phase.Done) return;
    const responded = this.phase === Phase.Responding;
    this.phase = Phase.Done;
    const c = this.ctx;
    c.metrics.inflight.value--;
    // The 'close' listener stays: it returns at once when done, which costs less than removing it.
    if (this.hasBody && !this.clientGone && !this.req.complete && this.res.shouldKeepAlive)
      this.discardRestOfBody();
    const aborted = errorType === 'client_aborted';
    const code = aborted && !responded ? 499 : this.status;
    const span = this.span;
    const end = performance.now();
    const outcome: Outcome = {
      method: this.method,
      route: this.match.route,
      grantScoped: this.match.grantScoped,
      grantSegment: this.match.grantSegment,
      code,
      responded: responded && !aborted,
      errorType,
      providerError,
      requestId: this.requestId,
      responseBytes: this.bytes,
      providerRequests: this.providerRequests,
      gmailQuotaUnits: this.gmailQuota,
      durationSeconds: (end - this.start) / 1000,
      ids: span ?? c.incomingTraceIds(this.req),
      headers: this.headers,
    };
    if (span) {
      if (this.status) span.statusCode = code;
      span.resendCount = this.attempt;
      span.requestId = this.requestId;
      if (errorType !== '') {
        span.errorType = responded && !aborted ? String(code) : errorType;
        span.nylasErrorType = errorType;
      }
      c.spans!.end(span, end);
    }
    c.record(outcome);
  }
}
