// A listener's server, plain HTTP or TLS with basic auth as its web config file says, and the
// reload that swaps certificates and credentials under it without closing a connection.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../log/index.js';
import { loadWebConfig, shownPath, type WebConfig } from './web-config.js';

/** Why a request was refused (the `reason` label of the failures counter). */
export type AuthFailureReason = 'missing' | 'invalid' | 'client_certificate' | 'tls_handshake';

export interface WebServerOptions {
  /** The setting naming the web config file, for messages (SIDECAR_ADMIN_WEB_CONFIG). */
  setting: string;
  /** The web config file; unset serves plain HTTP with no credentials, as before. */
  path: string | undefined;
  /** `tls`: only tls_server_config's certificate fields are allowed (see WebConfigOptions). */
  allow: 'full' | 'tls';
  http: ServerOptions;
  handler: RequestListener;
  /** Exact paths answered without credentials or a client certificate (the kubelet's probes). */
  open?: readonly string[];
  logger: Logger;
  onAuthFailure?: (reason: AuthFailureReason) => void;
  /** How often the config and the files it names are checked for changes (default 5 s). */
  watchIntervalMs?: number;
  readFile?: (path: string) => string;
}

export interface WebServer {
  readonly server: Server;
  /** True when the listener speaks TLS (its URLs are https://). */
  readonly tls: boolean;
  /**
   * Reads the file again and applies it; a file with problems leaves the running configuration
   * in place and logs one line. Returns true when the new file was applied.
   */
  reload(): boolean;
  /** Stops watching the files. */
  close(): void;
}

/** A web config file that cannot be used at start: every problem, one line each. */
export class WebConfigError extends Error {
  readonly code = 'ERR_SIDECAR_WEB_CONFIG';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'WebConfigError';
  }
}

/** Successful and failed checks remembered, so a scrape every 15 s pays bcrypt's cost once. */
const CACHE_MAX = 256;

/**
 * Creates the server for a listener. Without a web config it is the plain node:http server the
 * listener always had, with no wrapper on its handler.
 */
export function createWebServer(opts: WebServerOptions): WebServer {
  if (!opts.path) {
    const server = createHttpServer(opts.http, opts.handler);
    return { server, tls: false, reload: () => false, close: () => undefined };
  }
  const path = opts.path;
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const load = () => loadWebConfig(path, { setting: opts.setting, readFile, allow: opts.allow });
  const first = load();
  if (!first.ok) throw new WebConfigError(first.problems);
  let current: WebConfig = first.config;
  const tls = current.tls;
  // Whether a client is asked for a certificate is fixed when the server is made.
  const asksCert = tls !== undefined && tls.clientAuth !== 'NoClientCert';
  const open = new Set(opts.open ?? []);
  // Digests keyed per process: what the cache holds cannot be tried against guesses faster than
  // bcrypt itself.
  const cache: AuthCache = { key: randomBytes(32), seen: new Map() };

  const gate: RequestListener = (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (open.has(q < 0 ? url : url.slice(0, q))) return opts.handler(req, res);
    const cert = clientCertProblem(req, current);
    if (cert) {
      opts.onAuthFailure?.('client_certificate');
      return refuse(res, 403, cert);
    }
    if (current.users.size === 0) return opts.handler(req, res);
    const checked = current;
    checkBasicAuth(req.headers.authorization, checked, cache).then(
      (failure) => {
        if (!failure) return opts.handler(req, res);
        opts.onAuthFailure?.(failure);
        req.resume();
        refuse(res, 401, 'Credentials are required for this endpoint.');
      },
      (err: unknown) => {
        opts.logger.error(
          { event: 'web_auth_error', err: { type: (err as Error)?.name } },
          'checking basic auth failed',
        );
        refuse(res, 500, 'Credentials could not be checked.');
      },
    );
  };
  const handler = opts.allow === 'full' ? gate : opts.handler;
  const server: Server = tls
    ? createHttpsServer(
        {
          ...opts.http,
          ...secureOptions(tls),
          requestCert: asksCert,
          // The policy is applied per request (clientCertProblem), not in the handshake, so that
          // the kubelet's probes, which present no certificate, still reach /healthz and /readyz.
          rejectUnauthorized: false,
        },
        handler,
      )
    : createHttpServer(opts.http, handler);
  if (tls)
    server.on('tlsClientError', () => {
      opts.onAuthFailure?.('tls_handshake');
    });

  const interval = opts.watchIntervalMs ?? 5_000;
  let watched: readonly string[] = [];
  let pending: NodeJS.Timeout | undefined;
  const onChange = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs === prev.mtimeMs && curr.ino === prev.ino && curr.size === prev.size) return;
    // A Secret update or a certificate renewal changes several files at once: read them together.
    clearTimeout(pending);
    pending = setTimeout(() => reload(), Math.min(200, interval));
    pending.unref();
  };
  const watch = (files: readonly string[]) => {
    for (const f of watched) if (!files.includes(f)) unwatchFile(f, onChange);
    for (const f of files)
      if (!watched.includes(f)) watchFile(f, { interval, persistent: false }, onChange);
    watched = files;
  };
  watch(current.files);

  function reload(): boolean {
    const next = load();
    const keep = (why: string) => {
      opts.logger.warn(
        { event: 'web_config_rejected', variable: opts.setting },
        `${why}; the previous web configuration stays in force`,
      );
      return false;
    };
    if (!next.ok) return keep(next.problems.join('; '));
    const n = next.config;
    if ((n.tls === undefined) !== (tls === undefined))
      return keep(
        `${opts.setting}=${shownPath(path)}: tls_server_config was ${tls ? 'removed' : 'added'}, which needs a restart`,
      );
    if (n.tls && (n.tls.clientAuth !== 'NoClientCert') !== asksCert)
      return keep(
        `${opts.setting}=${shownPath(path)}: tls_server_config.client_auth_type changed between NoClientCert and asking for a certificate, which needs a restart`,
      );
    // New handshakes get the new certificate; open connections keep theirs and finish.
    if (n.tls)
      (server as unknown as { setSecureContext(o: object): void }).setSecureContext(
        secureOptions(n.tls),
      );
    current = n;
    cache.seen.clear();
    watch(n.files);
    opts.logger.info(
      {
        event: 'web_config_reloaded',
        variable: opts.setting,
        users: n.users.size,
        tls: Boolean(n.tls),
      },
      'web configuration reloaded',
    );
    return true;
  }

  return {
    server,
    tls: tls !== undefined,
    reload,
    close() {
      clearTimeout(pending);
      watch([]);
    },
  };
}

function secureOptions(tls: NonNullable<WebConfig['tls']>) {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
  };
}

/** What is wrong with the request's client certificate under client_auth_type, if anything. */
function clientCertProblem(req: IncomingMessage, config: WebConfig): string | undefined {
  const mode = config.tls?.clientAuth ?? 'NoClientCert';
  if (mode === 'NoClientCert' || mode === 'RequestClientCert') return undefined;
  const socket = req.socket as TLSSocket;
  const given =
    typeof socket.getPeerCertificate === 'function' &&
    Object.keys(socket.getPeerCertificate()).length > 0;
  const verified = given && socket.authorized;
  if (mode === 'RequireAnyClientCert' && !given) return 'A client certificate is required.';
  if (mode === 'VerifyClientCertIfGiven' && given && !verified)
    return 'The client certificate is not signed by a trusted CA.';
  if (mode === 'RequireAndVerifyClientCert' && !verified)
    return 'A client certificate signed by a trusted CA is required.';
  return undefined;
}

let bcrypt: Promise<(typeof import('bcryptjs'))['default']> | undefined;
/** bcryptjs, loaded on the first basic-auth check: a sidecar without basic auth never loads it. */
function loadBcrypt() {
  bcrypt ??= import('bcryptjs').then((m) => m.default);
  return bcrypt;
}

interface AuthCache {
  key: Buffer;
  seen: Map<string, boolean>;
}

async function checkBasicAuth(
  header: string | undefined,
  config: WebConfig,
  cache: AuthCache,
): Promise<AuthFailureReason | undefined> {
  const m = header ? /^basic +([A-Za-z0-9+/=]+) *$/i.exec(header) : null;
  if (!m) return header ? 'invalid' : 'missing';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'invalid';
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const hash = config.users.get(user);
  // An unknown user is checked against some hash too, so the answer's timing does not tell
  // which usernames exist.
  const against = hash ?? config.users.values().next().value!;
  const key = createHmac('sha256', cache.key)
    .update(`${user}\0${password}\0${against}`)
    .digest('base64');
  let ok = cache.seen.get(key);
  if (ok === undefined) {
    ok = await (await loadBcrypt()).compare(password, against);
    if (cache.seen.size >= CACHE_MAX) cache.seen.delete(cache.seen.keys().next().value!);
    cache.seen.set(key, ok);
  }
  return ok && hash !== undefined ? undefined : 'invalid';
}

function refuse(res: ServerResponse, status: 401 | 403 | 500, message: string) {
  const type =
    status === 401
      ? 'sidecar.unauthorized'
      : status === 403
        ? 'sidecar.forbidden'
        : 'sidecar.internal_error';
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
  if (status === 401) headers['www-authenticate'] = 'Basic realm="nylas-sidecar", charset="UTF-8"';
  res.writeHead(status, headers).end(JSON.stringify({ error: { type, message } }));
}
