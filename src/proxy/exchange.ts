import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { classifyErrorBody, classifyUpstreamError, ClientAbortedError } from './classify.js';
import { headerValue, responseHeaderList } from './headers.js';
import type { Outcome } from './instrument.js';
import type { ProxyContext } from './context.js';
import type { RouteMatch } from './routes.js';
import type { ProxySpan } from '../tracing/proxy-spans.js';

/** Bytes of an error body copied aside to read its error type (the app gets them all anyway). */
const SNIFF_LIMIT = 16 * 1024;
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Longest Retry-After the proxy waits for before retrying; longer ones are the app's to handle. */
const MAX_RETRY_WAIT_MS = 10_000;

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
 * straight into the app's ServerResponse (no intermediate stream, no pipeline: see
 * reference/proxy-performance.md), honouring backpressure both ways.
 */
export class Exchange implements Dispatcher.DispatchHandler {
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
    // on/off rather than once: once() allocates a wrapper per request.
    res.on('close', this.onClientClose);
  }

  run(span: ProxySpan | undefined): void {
    this.span = span;
    this.dispatch();
  }

  private dispatch(): void {
    const c = this.ctx;
    const hasBody =
      this.req.headers['content-length'] !== undefined
        ? this.req.headers['content-length'] !== '0'
        : this.req.headers['transfer-encoding'] !== undefined;
    this.attemptStart = performance.now();
    c.pool.dispatch(
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
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    if (this.canRetry() && RETRYABLE_STATUS.has(statusCode)) {
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
    if (statusMessage) this.res.writeHead(statusCode, statusMessage, out);
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

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.done) return;
    const failure = classifyUpstreamError(this.clientGone ? new ClientAbortedError() : err);
    if (failure.errorType !== 'client_aborted' && !this.responded && this.canRetry()) {
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
      this.req.headers['content-length'] === undefined &&
      this.req.headers['transfer-encoding'] === undefined
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

  private finish(errorType: string, providerError = false): void {
    if (this.done) return;
    this.done = true;
    const c = this.ctx;
    c.metrics.inflight.value--;
    this.res.off('close', this.onClientClose);
    const aborted = errorType === 'client_aborted';
    const code = aborted && !this.responded ? 499 : this.status;
    const span = this.span;
    const end = performance.now();
    const outcome: Outcome = {
      method: this.method,
      route: this.match.route,
      grantScoped: this.match.grantScoped,
      grantId: this.match.grantSegment && safeGrantId(this.match.grantSegment),
      code,
      responded: this.responded && !aborted,
      errorType,
      providerError,
      requestId: this.requestId,
      responseBytes: this.bytes,
      providerRequests: this.providerRequests,
      gmailQuotaUnits: this.gmailQuota,
      durationSeconds: (end - this.start) / 1000,
      traceId: span ? span.traceId : c.incomingTraceId(this.req),
      spanId: span?.spanId,
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

/**
 * The grant identifier for /support pages and recent errors, or undefined when it is an email
 * address (never kept) or `me`.
 */
function safeGrantId(segment: string): string | undefined {
  let id = segment;
  if (id.includes('%')) {
    try {
      id = decodeURIComponent(id);
    } catch {
      return undefined;
    }
  }
  if (id === 'me' || id.includes('@') || id.startsWith('email:')) return undefined;
  return id.length <= 128 ? id : undefined;
}
