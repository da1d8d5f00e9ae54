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
import type { Outcome } from './instrument.js';
import type { ProxyContext } from './context.js';
import type { RouteMatch } from './routes.js';
import type { ProxySpan } from '../tracing/proxy-spans.js';
import type { Watched } from './sweeper.js';
import { safeReasonPhrase } from './reason-phrase.js';

/** Bytes of an error body copied aside to read its error type (the app gets them all anyway). */
const SNIFF_LIMIT = 16 * 1024;
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Longest Retry-After the proxy waits for before retrying; longer ones are the app's to handle. */
const MAX_RETRY_WAIT_MS = 10_000;
/**
 * A request body that brings fewer bytes than this in one stall window (SIDECAR_UPSTREAM_TIMEOUT_MS,
 * at most 10 s), while the proxy is ready to read, has stalled: about 100 bytes a second at the
 * default, far below any app that means to finish its upload, far above a client that trickles a
 * byte a second to hold an upstream connection.
 */
const MIN_BODY_PROGRESS = 1024;

/** Parses Retry-After (seconds or HTTP date) into milliseconds, if usable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * One proxied request: dispatches it upstream with undici's handler API and writes the response
 * straight into the app's ServerResponse (no intermediate stream, no pipeline: each
 * of those costs allocations and ticks on every request), honouring backpressure both ways.
 */
export class Exchange implements Dispatcher.DispatchHandler, Watched {
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private responded = false;
  private discarding = false;
  private done = false;
  private clientGone = false;
  private sniff: Buffer[] | undefined;
  private sniffBytes = 0;
  private contentEncoding: string | undefined;
  private requestId: string | undefined;
  private bytes = 0;
  /** The whole body, when it came in one chunk: sent with end() to save a write. */
  private held: Buffer | undefined;
  private expectedLength = -1;
  private providerRequests = 0;
  private gmailQuota = 0;
  private attempt = 0;
  private attemptStart = 0;
  private retryAfter: number | undefined;
  private retryReason = '';
  private span: ProxySpan | undefined;
  /** Set when the app was answered before the upstream request started: cancel it then. */
  private abortOnStart: Error | undefined;
  private readonly hasBody: boolean;
  /** The request said how long its body is (Content-Length or Transfer-Encoding), 0 included. */
  private readonly framed: boolean;
  private watched = false;
  /** performance.now() when the current attempt was handed to the pool. */
  private dispatchedAt = 0;
  /** The current stall window of the request body: its start and the socket's bytesRead then. */
  private windowStart = 0;
  private windowBytes = 0;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly match: RouteMatch,
    private readonly method: string,
    private readonly headers: string[],
    /** performance.now() when the request arrived. */
    private readonly start: number,
  ) {
    ctx.metrics.inflight.value++;
    // req.headers is a getter (a megamorphic load each time): read once.
    const h = req.headers;
    const length = h['content-length'];
    const chunked = h['transfer-encoding'] !== undefined;
    this.hasBody = length !== undefined ? length !== '0' : chunked;
    this.framed = length !== undefined || chunked;
    // on rather than once: once() allocates a wrapper per request.
    res.on('close', this.onClientClose);
  }

  run(span: ProxySpan | undefined): void {
    this.span = span;
    this.dispatch();
  }

  private dispatch(): void {
    const c = this.ctx;
    const hasBody = this.hasBody;
    this.attemptStart = this.dispatchedAt = performance.now();
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
    if (this.done) return (this.watched = false);
    const c = this.ctx;
    if (this.controller === undefined) {
      // Between retries nothing waits on the pool; the retry timer is bounded already.
      if (!this.discarding && now - this.dispatchedAt >= c.timeoutMs)
        this.failEarly(new PoolWaitTimeoutError());
      return (this.watched = !this.done);
    }
    if (!this.hasBody || this.req.complete || this.responded) return (this.watched = false);
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
   * it has started or still waits for a connection.
   */
  private failEarly(err: PoolWaitTimeoutError | ClientTimeoutError): void {
    // A client whose body stalled, or whose body the upstream never saw, is not worth keeping
    // the connection for (reading the rest of its body only to drop it).
    if (err instanceof ClientTimeoutError || (this.hasBody && !this.req.complete))
      this.res.shouldKeepAlive = false;
    this.onResponseError(undefined, err);
    this.controller?.abort(err);
    this.abortOnStart = err;
  }

  private readonly onClientClose = (): void => {
    if (this.res.writableFinished || this.done) return;
    this.clientGone = true;
    this.controller?.abort(new ClientAbortedError());
    // If the request is between retries, nothing upstream is open: finish now.
    if (this.discarding && !this.controller)
      this.finish(classifyUpstreamError(new ClientAbortedError()).errorType);
  };

  private readonly resume = (): void => {
    this.controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new ClientAbortedError());
    else if (this.abortOnStart) controller.abort(this.abortOnStart);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    if (RETRYABLE_STATUS.has(statusCode) && this.canRetry()) {
      // Drain this attempt's body (small, an error) and try again once it ends.
      this.discarding = true;
      this.retryReason = String(statusCode);
      this.retryAfter = retryAfterMs(headerValue(headers['retry-after']));
      return;
    }
    this.discarding = false;
    this.requestId = headerValue(headers['x-request-id']);
    const prc = headers['nylas-provider-request-count'];
    if (prc !== undefined) this.providerRequests = Number(headerValue(prc)) || 0;
    const gq = headers['nylas-gmail-quota-usage'];
    if (gq !== undefined) this.gmailQuota = Number(headerValue(gq)) || 0;
    if (statusCode >= 400) {
      this.sniff = [];
      this.contentEncoding = headerValue(headers['content-encoding']);
    }
    this.responded = true;
    const len = headers['content-length'];
    this.expectedLength = len === undefined ? -1 : Number(headerValue(len));
    if (this.clientGone) return;
    const out = responseHeaderList(headers);
    const reason = safeReasonPhrase(statusCode, statusMessage);
    if (reason) this.res.writeHead(statusCode, reason, out);
    else this.res.writeHead(statusCode, out);
    void controller;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.discarding) return;
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
    if (this.discarding) {
      this.scheduleRetry();
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
    if (this.done) return;
    const failure = classifyUpstreamError(this.clientGone ? new ClientAbortedError() : err);
    const ownDeadline = err instanceof PoolWaitTimeoutError || err instanceof ClientTimeoutError;
    if (
      failure.errorType !== 'client_aborted' &&
      !ownDeadline &&
      !this.responded &&
      this.canRetry()
    ) {
      this.discarding = true;
      this.retryReason = failure.errorType;
      this.retryAfter = undefined;
      this.scheduleRetry();
      return;
    }
    if (failure.errorType === 'client_aborted' || this.clientGone) {
      this.finish('client_aborted');
      return;
    }
    if (this.responded) {
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
    this.responded = true;
    this.finish(failure.errorType);
  }

  private canRetry(): boolean {
    const c = this.ctx;
    return (
      c.retryMax > 0 &&
      this.attempt < c.retryMax &&
      !this.clientGone &&
      (this.method === 'GET' || this.method === 'HEAD') &&
      !this.framed
    );
  }

  private scheduleRetry(): void {
    const c = this.ctx;
    this.recordAttemptSpan(this.retryReason);
    c.metrics.apiRetries.inc({ route: this.match.route, reason: this.retryReason });
    this.attempt++;
    this.controller = undefined;
    // Full jitter on exponential backoff (100 ms base) unless Nylas said how long to wait.
    const backoff = Math.random() * 100 * 2 ** this.attempt;
    const wait = Math.min(this.retryAfter ?? backoff, MAX_RETRY_WAIT_MS);
    setTimeout(() => {
      if (this.clientGone || this.done) return;
      this.status = 0;
      this.discarding = false;
      this.dispatch();
    }, wait).unref();
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
    if (this.done) return;
    this.done = true;
    const c = this.ctx;
    c.metrics.inflight.value--;
    // The 'close' listener stays: it returns at once when done, which costs less than removing it.
    if (this.hasBody && !this.clientGone && !this.req.complete && this.res.shouldKeepAlive)
      this.discardRestOfBody();
    const aborted = errorType === 'client_aborted';
    const code = aborted && !this.responded ? 499 : this.status;
    const span = this.span;
    const end = performance.now();
    const outcome: Outcome = {
      method: this.method,
      route: this.match.route,
      grantScoped: this.match.grantScoped,
      grantSegment: this.match.grantSegment,
      code,
      responded: this.responded && !aborted,
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
        span.errorType = this.responded && !aborted ? String(code) : errorType;
        span.nylasErrorType = errorType;
      }
      c.spans!.end(span, end);
    }
    c.record(outcome);
  }
}
