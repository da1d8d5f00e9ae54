import { setMaxListeners } from 'node:events';
import type { GrantHealth } from '../credentials/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Tracer } from '@opentelemetry/api';
import { Agent } from 'undici';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { Metrics } from '../metrics/index.js';
import { closeServer, listen } from '../util/listen.js';
import { createWebServer } from '../util/web-server.js';
import { handleChallenge } from './challenge.js';
import {
  createByteBudget,
  sendListenerError,
  type ListenerContext,
  type WebhookTimings,
} from './context.js';
import { createDedupeWindow } from './dedupe.js';
import { handleNotification } from './notification.js';

/** Bodies over 2 MB (decimal) get 413: Nylas caps payloads at 1 MB, so this is a wide margin. */
export const MAX_BODY_BYTES = 2_000_000;

/**
 * Memory all bodies in flight may hold at once: 64 MB is 32 deliveries at the 2 MB cap, or
 * hundreds of typical (few-kB) notifications. Past it a delivery gets 503 and Nylas retries it,
 * instead of the listener running out of memory under a flood of large or slow bodies.
 */
export const MAX_BUFFERED_BYTES = 64_000_000;

/** The production time limits (see WebhookTimings for the reasons). */
export const DEFAULT_TIMINGS: Readonly<WebhookTimings> = {
  answerDeadlineMs: 9_000,
  observeDeadlineMs: 60_000,
  challengeDeadlineMs: 5_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
};

export interface WebhookListenerDeps {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  tracer: Tracer;
  /** Where verified grant.* notifications report grant health (the notification source). */
  grantHealth?: GrantHealth;
  /** Test seams; production uses the defaults. */
  options?: WebhookListenerOptions;
  /** How often SIDECAR_WEBHOOK_WEB_CONFIG's files are checked for changes (default 5 s). */
  webConfigWatchMs?: number;
}

export interface WebhookListenerOptions {
  timings?: Partial<WebhookTimings>;
  maxBodyBytes?: number;
  /** Memory for all bodies in flight (default MAX_BUFFERED_BYTES). */
  maxBufferedBytes?: number;
  /** Duplicate window: ids remembered (default 10,000) and for how long (default 1 h). */
  dedupe?: { maxEntries?: number; ttlMs?: number };
  /** Wall clock in milliseconds (default Date.now). */
  now?: () => number;
}

export interface WebhookListener {
  /** True when SIDECAR_WEBHOOK_WEB_CONFIG puts the listener on TLS. */
  readonly tls: boolean;
  start(): Promise<AddressInfo>;
  /** Reads SIDECAR_WEBHOOK_WEB_CONFIG again: a renewed certificate, without dropping a delivery. */
  reloadWebConfig(): void;
  /** Stops accepting and waits for in-flight deliveries up to graceMs. */
  stop(graceMs: number): Promise<void>;
}

/**
 * Creates the webhook listener (only called when SIDECAR_WEBHOOK_LISTEN is set): plain node:http,
 * because the raw body bytes matter (signature, byte-for-byte forwarding) and a router adds
 * nothing on a listener that treats every path alike.
 */
export function createWebhookListener(deps: WebhookListenerDeps): WebhookListener {
  const { config, metrics, tracer } = deps;
  const forwardUrl = config.webhook.forwardUrl;
  const listenAt = config.webhook.listen;
  if (!forwardUrl || !listenAt)
    throw new Error(
      'the webhook listener needs SIDECAR_WEBHOOK_LISTEN and SIDECAR_WEBHOOK_FORWARD_URL',
    );
  const opts = deps.options ?? {};
  const timings: WebhookTimings = { ...DEFAULT_TIMINGS, ...opts.timings };
  const logger = deps.logger.child({ component: 'webhooks' });
  const now = opts.now ?? Date.now;
  const shutdown = new AbortController();
  // Every forward in flight listens for the shutdown (removing itself when done): hundreds at once
  // under a burst is normal, so Node's "possible memory leak" warning past 10 would be false.
  setMaxListeners(0, shutdown.signal);
  const pending = new Set<Promise<unknown>>();
  const dispatcher = new Agent({
    // Our own deadlines (AbortSignal) end forwards; undici's must not come first.
    headersTimeout: timings.observeDeadlineMs + 1_000,
    bodyTimeout: timings.observeDeadlineMs + 1_000,
    keepAliveTimeout: 4_000,
  });

  const ctx: ListenerContext = {
    config,
    forwardUrl,
    metrics,
    logger,
    tracer,
    timings,
    maxBodyBytes: opts.maxBodyBytes ?? MAX_BODY_BYTES,
    bodyBudget: createByteBudget(opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES),
    grantHealth: deps.grantHealth,
    dedupe: createDedupeWindow({
      maxEntries: opts.dedupe?.maxEntries ?? 10_000,
      ttlMs: opts.dedupe?.ttlMs ?? 3_600_000,
      now,
    }),
    dispatcher,
    now,
    clock: () => performance.now(),
    shutdown: shutdown.signal,
    track(work) {
      const p = work.catch(() => undefined).finally(() => pending.delete(p));
      pending.add(p);
    },
  };

  // TLS only when SIDECAR_WEBHOOK_WEB_CONFIG is set (the listener faces the internet itself);
  // otherwise the plain node:http server, typically behind a TLS-terminating ingress.
  const web = createWebServer({
    setting: 'SIDECAR_WEBHOOK_WEB_CONFIG',
    path: config.webhook.webConfig,
    allow: 'tls',
    logger,
    watchIntervalMs: deps.webConfigWatchMs,
    http: {
      headersTimeout: timings.headersTimeoutMs,
      requestTimeout: timings.requestTimeoutMs,
      // Node checks the two timeouts above on this interval (30 s by default, which would let a
      // slow sender hold a connection twice as long as configured).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, timings.headersTimeoutMs / 4)),
    },
    handler: (req, res) => {
      handle(ctx, req, res).catch((err: unknown) => {
        logger.error(
          { event: 'webhook_handler_error', err },
          'webhook delivery failed in the listener',
        );
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    },
  });
  const server = web.server;
  // Bad requests and timeouts: Node answers 400/408/431 itself; they are logged, never thrown.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Slow senders are worth seeing; resets and unparseable requests (scanners) are noise.
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    logger[timedOut ? 'info' : 'debug'](
      { event: 'webhook_client_error', code: err.code },
      timedOut ? 'webhook sender too slow: request timed out' : 'webhook sender request rejected',
    );
    if (socket.writable && socket.bytesWritten === 0) {
      const status = timedOut
        ? '408 Request Timeout'
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  });

  let stopping: Promise<void> | undefined;
  return {
    tls: web.tls,
    reloadWebConfig: () => void web.reload(),
    async start() {
      const addr = await listen(server, listenAt, 'SIDECAR_WEBHOOK_LISTEN');
      logger.info(
        {
          event: 'webhook_listener_started',
          port: addr.port,
          verify: config.webhook.verify,
          secrets: config.nylas.webhookSecrets.length,
          // The origin only: a path or query can hold a token.
          forward_origin: forwardUrl.origin,
        },
        'webhook listener started',
      );
      return addr;
    },
    stop(graceMs) {
      stopping ??= (async () => {
        web.close();
        const deadline = performance.now() + graceMs;
        // A keep-alive connection that goes idle after close() began would otherwise stay open
        // until its keep-alive timeout: sweep idle ones while draining.
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        await closeServer(server, graceMs).finally(() => clearInterval(sweep));
        const left = Math.max(0, deadline - performance.now());
        if (pending.size > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            Promise.all(pending),
            new Promise((resolve) => (timer = setTimeout(resolve, left))),
          ]);
          clearTimeout(timer);
        }
        shutdown.abort();
        await Promise.all(pending);
        await dispatcher.destroy();
      })();
      return stopping;
    },
  };
}

async function handle(ctx: ListenerContext, req: IncomingMessage, res: ServerResponse) {
  const q = (req.url ?? '').indexOf('?');
  const params = new URLSearchParams(q >= 0 ? (req.url ?? '').slice(q + 1) : '');
  const challenge = params.get('challenge');
  if (req.method === 'GET' && challenge !== null) return handleChallenge(ctx, req, res, challenge);
  if (req.method === 'POST') return handleNotification(ctx, req, res);
  req.resume();
  if (req.method === 'GET')
    return sendListenerError(
      res,
      400,
      'sidecar.webhook_missing_challenge',
      'This is a Nylas webhook endpoint: GET needs ?challenge=, notifications are POSTed.',
    );
  sendListenerError(
    res,
    405,
    'sidecar.webhook_method_not_allowed',
    'Only GET ?challenge= and POST.',
    {
      allow: 'GET, POST',
    },
  );
}
