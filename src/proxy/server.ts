import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { ExemplarIds, Metrics } from '../metrics/index.js';
import type { ProxySpan, Tracing } from '../tracing/index.js';
import type { RecentErrors } from './recent-errors.js';
import { listen } from '../util/listen.js';
import { createRouteMatcher, decodedSegment, OTHER_MATCH } from './routes.js';
import { upstreamRequestHeaders } from './headers.js';
import { createRecorder } from './recorder.js';
import type { KeyHealth } from '../credentials/index.js';
import { Exchange, type ExchangeOptions } from './exchange.js';
import type { ProxyContext } from './context.js';
import { Sweeper } from './sweeper.js';
import { KeepAliveDrain } from './drain.js';
import { labelRoute } from './series-budget.js';

export interface ProxyDeps {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  tracing: Tracing;
  recentErrors: RecentErrors;
  /** Tells a bad API key from invalid grants; without it every grant-route 401 is the grant's. */
  keyHealth?: KeyHealth;
}

export interface Proxy {
  readonly server: Server;
  start(): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish for up to graceMs, then closes upstream. */
  stop(graceMs: number): Promise<void>;
}

/** Methods Node's parser accepts that are worth a label of their own; others are `_OTHER`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The trace id in a W3C traceparent header (`00-<32 hex>-<16 hex>-<2 hex>`), as exemplar ids. */
function traceIdsOf(req: IncomingMessage): ExemplarIds | undefined {
  const tp = req.headers.traceparent;
  if (typeof tp !== 'string' || tp.length < 55 || tp[2] !== '-') return undefined;
  const id = tp.slice(3, 35);
  return /^[0-9a-f]{32}$/.test(id) && id !== '0'.repeat(32)
    ? { traceId: id, spanId: undefined }
    : undefined;
}

/** A path whose segments would climb out of the upstream base path once decoded. */
function escapesBase(pathname: string): boolean {
  if (pathname.includes('\\') || pathname.includes('\0')) return true;
  if (!pathname.includes('.') && !pathname.includes('%')) return false;
  for (const raw of pathname.split('/')) {
    const seg = decodedSegment(raw);
    if (seg === undefined || seg === '.' || seg === '..' || seg.includes('\\')) return true;
    // An encoded slash: the upstream may decode it and see dot segments.
    if (seg.includes('/') && /(^|\/)\.\.?(\/|$)/.test(seg)) return true;
  }
  return false;
}

/**
 * The proxy listener: plain node:http in front of an undici Pool to the one configured upstream.
 * It never connects anywhere else: the upstream origin is fixed at construction and requests
 * only contribute a path.
 */
export function createProxy(deps: ProxyDeps): Proxy {
  const { config, metrics, logger, tracing } = deps;
  const upstream = config.nylas.apiUri;
  const poolOptions: Pool.Options = {
    connections: 256,
    keepAliveTimeout: 4_000,
    connect: { timeout: Math.min(10_000, config.proxy.upstreamTimeoutMs) },
  };
  const pool = new Pool(upstream.origin, poolOptions);
  const uploadPool = new Pool(upstream.origin, poolOptions);
  // The upstream timeout is an idle timer; the same span of silence bounds a wait for a
  // connection and a stalled request body. Capped so that a long upstream timeout (Nylas's own
  // is 90 s) does not let a trickling upload hold a connection for minutes.
  const stallWindowMs = Math.min(10_000, config.proxy.upstreamTimeoutMs);
  const sweeper = new Sweeper(Math.max(25, Math.min(1000, stallWindowMs / 4)));
  const match = createRouteMatcher();
  const record = createRecorder({
    metrics,
    logger,
    recentErrors: deps.recentErrors,
    keyHealth: deps.keyHealth,
  });
  const serverAddress = upstream.hostname;
  const serverPort = Number(upstream.port) || (upstream.protocol === 'https:' ? 443 : 80);
  const ctx: ProxyContext = {
    pool,
    uploadPool,
    sweeper,
    stallWindowMs,
    basePath: upstream.pathname === '/' ? '' : upstream.pathname,
    timeoutMs: config.proxy.upstreamTimeoutMs,
    retryMax: config.proxy.retryMax,
    metrics,
    spans: tracing.proxySpans({ address: serverAddress, port: serverPort }),
    record,
    incomingTraceIds: traceIdsOf,
  };
  // One options object for every exchange, refilled per request: the Exchange constructor copies
  // it before it returns, and V8 does not inline that constructor (--trace-turbo-inlining), so a
  // literal per request would be one more allocation on the hot path.
  const NO_HEADERS: string[] = [];
  const exchange: ExchangeOptions = {
    ctx,
    req: null!,
    res: null!,
    match: OTHER_MATCH,
    method: '',
    headers: NO_HEADERS,
    start: 0,
    span: undefined,
  };
  const injectAuth =
    config.proxy.injectApiKey && config.nylas.apiKey ? `Bearer ${config.nylas.apiKey}` : undefined;
  // Span names are `{METHOD} {route}`: a closed set, built once each.
  // By route, then method: both strings come from closed tables, so no key is built per request.
  const spanNames = new Map<string, Map<string, string>>();
  const spanName = (method: string, route: string): string => {
    let byMethod = spanNames.get(route);
    if (byMethod === undefined) spanNames.set(route, (byMethod = new Map<string, string>()));
    let name = byMethod.get(method);
    if (name === undefined) byMethod.set(method, (name = `${method} ${route}`));
    return name;
  };

  const spans = ctx.spans;

  const refuse = (res: ServerResponse, status: number, method: string, message: string) => {
    const requestId = `sidecar-${randomUUID()}`;
    const body = JSON.stringify({
      request_id: requestId,
      error: { type: 'sidecar.invalid_request', message },
    });
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-nylas-sidecar-error': 'refused',
      ...(status === 405 ? { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' } : {}),
    });
    res.end(body);
    record({
      method,
      route: 'other',
      grantScoped: false,
      grantSegment: undefined,
      code: status,
      responded: true,
      errorType: 'refused',
      providerError: false,
      requestId,
      responseBytes: 0,
      providerRequests: 0,
      gmailQuotaUnits: 0,
      durationSeconds: 0,
      ids: undefined,
      headers: [],
    });
    logger.warn({ event: 'request_refused', code: status, method }, message);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (drain.active) res.shouldKeepAlive = false;
    const rawMethod = req.method ?? 'GET';
    const method = METHODS.has(rawMethod) ? rawMethod : '_OTHER';
    const url = req.url ?? '';
    // Only origin-form targets: an absolute URL or authority here would make this an open proxy.
    if (url.charCodeAt(0) !== 47 /* / */ || url.charCodeAt(1) === 47) {
      req.resume();
      return refuse(
        res,
        400,
        method,
        'Only paths are accepted: this is a reverse proxy for the Nylas API, not a forward proxy.',
      );
    }
    if (rawMethod === 'TRACE' || method === '_OTHER') {
      req.resume();
      return refuse(res, 405, method, `Method ${rawMethod} is not proxied.`);
    }
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    if (escapesBase(pathname)) {
      req.resume();
      return refuse(res, 400, method, 'Paths with dot segments or backslashes are refused.');
    }
    const m = labelRoute(match(pathname), method);
    const start = performance.now();
    exchange.match = m;
    exchange.start = start;
    let span: ProxySpan | undefined;
    // req.headers is a getter (a megamorphic load each time): read once.
    const h = req.headers;
    if (spans !== undefined) {
      const parent = h.traceparent !== undefined ? spans.parentOf(h) : undefined;
      span = spans.start(spanName(method, m.route), method, m.route, parent, start);
    }
    exchange.span = span;
    exchange.headers = upstreamRequestHeaders(req.rawHeaders, h.connection, injectAuth);
    exchange.req = req;
    exchange.res = res;
    exchange.method = method;
    const ex = new Exchange(exchange);
    // Let go of this request's objects (its headers hold the app's credentials) until the next
    // request refills the options, so that an idle proxy keeps none of them alive.
    exchange.req = null!;
    exchange.res = null!;
    exchange.span = undefined;
    exchange.headers = NO_HEADERS;
    ex.run();
  };

  // requestTimeout 0: a download or upload that keeps moving is never cut (the upstream timers
  // and the stall window watch for silence). Node derives its header timeout from requestTimeout
  // unless told, so 0 there would let a client send its headers one byte a minute for ever; and
  // Node checks it only every connectionsCheckingInterval (30 s by default).
  const headersTimeout = config.proxy.headersTimeoutMs;
  const server = createServer(
    {
      requestTimeout: 0,
      headersTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeout / 4)),
    },
    onRequest,
  );
  const drain = new KeepAliveDrain(server);
  // CONNECT never reaches 'request': answer it here so the socket is not left hanging.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    const body = JSON.stringify({
      error: { type: 'sidecar.invalid_request', message: 'CONNECT is not supported.' },
    });
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    metrics.apiRequests.inc({
      method: '_OTHER',
      route: 'other',
      code: '405',
      error_type: 'refused',
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // The headers did not arrive within SIDECAR_HEADERS_TIMEOUT_MS: no method or path is known.
      metrics.apiRequests.inc({
        method: '_OTHER',
        route: 'other',
        code: '408',
        error_type: 'client_timeout',
      });
      if (socket.writable)
        socket.end(
          'HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
        );
      else socket.destroy();
      return;
    }
    if (socket.writable && err.code !== 'ECONNRESET')
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  let stopped: Promise<void> | undefined;
  return {
    server,
    start: () => listen(server, config.proxy.listen, 'SIDECAR_LISTEN'),
    stop(graceMs) {
      stopped ??= (async () => {
        await drain.close(graceMs);
        sweeper.stop();
        await Promise.all([
          pool.close().catch(() => pool.destroy()),
          uploadPool.close().catch(() => uploadPool.destroy()),
        ]);
      })();
      return stopped;
    },
  };
}
