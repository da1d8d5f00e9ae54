import { STATUS_CODES } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { diag } from '@opentelemetry/api';
import {
  OTLPExporterError,
  type ExportResponse,
  type IExporterTransport,
} from '@opentelemetry/otlp-exporter-base';
import { Pool } from 'undici';
import { parseRetryAfter } from '../util/retry-after.js';

/*
 * The OTLP/HTTP exporters' transport for a plain-HTTP endpoint (a collector next to the app, the
 * usual case), on undici, the client the proxy already uses for Nylas.
 *
 * Why not the OpenTelemetry exporter's own transport (node:http's `request`): counted with
 * callgrind at saturation (docs/span-export.md), exporting through node:http cost the
 * sidecar about 16,000 instructions a request, a tenth of a bare proxy's whole request, though it
 * sends only a couple of requests a second. The cost is not in sending. node:http's client
 * requests, responses and sockets pass through the same Node stream and HTTP code as the proxy's
 * own sockets, with other object shapes; V8's property caches there turn megamorphic and every
 * proxied request pays for slower lookups. Sent through undici, the export's objects have the
 * shapes the proxy's upstream connections already have, and the proxy's request cost stays where
 * it is without an export (within 1,000 instructions).
 *
 * It does what the library's transport does: the configured endpoint, headers
 * (OTEL_EXPORTER_OTLP_HEADERS), compression (OTEL_EXPORTER_OTLP_COMPRESSION), timeout; a user
 * and password in the endpoint's URL as basic authentication; the same answers for the same
 * responses (2xx success; 429, 502, 503 and 504 retryable, after Retry-After when given (read as the Nylas client reads
 * it); any other
 * status a failure; network errors retryable; a response body over 4 MB a failure). An https
 * endpoint keeps the library's transport, which applies the certificate settings
 * (OTEL_EXPORTER_OTLP_CERTIFICATE, CLIENT_KEY, CLIENT_CERTIFICATE).
 */

/** As the library: a larger response body is not read, and the export fails. */
export const MAX_RESPONSE_BODY_BYTES = 4 * 1024 * 1024;

/** The library's: network errors worth another attempt. */
const RETRYABLE_NETWORK_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  // undici's own: the other side closed the connection; no headers or body in time.
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const gzipAsync = promisify(gzip);

export interface UndiciOtlpTransportOptions {
  /** The signal's endpoint, http: only (…/v1/traces). */
  url: string;
  /** OTEL_EXPORTER_OTLP_HEADERS and the content type, as the library's configuration gives them. */
  headers: () => Promise<Record<string, string>>;
  compression: 'gzip' | 'none';
  /** The User-Agent header. */
  userAgent: string;
}

export class UndiciOtlpTransport implements IExporterTransport {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly basicAuth: string | undefined;

  constructor(private readonly options: UndiciOtlpTransportOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'http:') throw new Error(`not an http: URL: ${url.protocol}`);
    this.path = `${url.pathname}${url.search}`;
    // A malformed escape is sent as written rather than refused at start-up.
    const decode = (v: string) => {
      try {
        return decodeURIComponent(v);
      } catch {
        return v;
      }
    };
    this.basicAuth =
      url.username || url.password
        ? `Basic ${Buffer.from(`${decode(url.username)}:${decode(url.password)}`).toString('base64')}`
        : undefined;
    // A couple of connections: one export at a time, all of them at once on a flush.
    this.pool = new Pool(url.origin, { connections: 4 });
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(await this.options.headers())) headers[k.toLowerCase()] = v;
    headers['user-agent'] = this.options.userAgent;
    if (this.basicAuth !== undefined && headers.authorization === undefined)
      headers.authorization = this.basicAuth;
    let body: Uint8Array = data;
    if (this.options.compression === 'gzip') {
      body = await gzipAsync(data);
      headers['content-encoding'] = 'gzip';
    }
    const started = Date.now();
    try {
      const res = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers,
        body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        headersTimeout: timeoutMillis,
        bodyTimeout: timeoutMillis,
      });
      // undici's bodyTimeout bounds the silence between two chunks; this bounds the whole body, so
      // a receiver that trickles its answer cannot hold the export past its timeout.
      let late = false;
      const timer = setTimeout(
        () => {
          late = true;
          res.body.destroy(new Error('OTLP export response not read within the export timeout'));
        },
        Math.max(started + timeoutMillis - Date.now(), 1),
      );
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > MAX_RESPONSE_BODY_BYTES) {
            res.body.destroy();
            return {
              status: 'failure',
              error: new Error(
                `OTLP export response body exceeded size limit of ${MAX_RESPONSE_BODY_BYTES} bytes`,
              ),
            };
          }
          chunks.push(chunk);
        }
      } catch (err) {
        // As a receiver that sends no answer in time (undici's headers timeout): retryable, which
        // the retrying transport does not retry past the timeout.
        if (late) return { status: 'retryable', error: err as Error };
        throw err;
      } finally {
        clearTimeout(timer);
      }
      const status = res.statusCode;
      if (status >= 200 && status <= 299) return { status: 'success', data: Buffer.concat(chunks) };
      if (status === 429 || status === 502 || status === 503 || status === 504) {
        const retryAfter = res.headers['retry-after'];
        return {
          status: 'retryable',
          // The project's reading of Retry-After (seconds or an HTTP date), as for Nylas's 429s.
          retryInMillis: parseRetryAfter(
            Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
            Date.now(),
          ),
        };
      }
      return {
        status: 'failure',
        error: new OTLPExporterError(
          STATUS_CODES[status] ?? `HTTP ${status}`,
          status,
          Buffer.concat(chunks).toString(),
        ),
      };
    } catch (err) {
      const error = err as Error & { code?: unknown };
      return typeof error.code === 'string' && RETRYABLE_NETWORK_ERRORS.has(error.code)
        ? { status: 'retryable', error }
        : { status: 'failure', error };
    }
  }

  shutdown(): void {
    this.pool.close().catch(() => undefined);
  }
}

/*
 * The library's retrying transport (not exported by @opentelemetry/otlp-exporter-base), with its
 * numbers: up to five more attempts, 1 s apart at first, then 1.5 times longer each (at most 5 s,
 * ±20 %), or after the receiver's Retry-After; never past the export's timeout.
 */
const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5000;
const BACKOFF_MULTIPLIER = 1.5;
const JITTER = 0.2;

export class RetryingTransport implements IExporterTransport {
  constructor(
    private readonly transport: IExporterTransport,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    let attempts = MAX_ATTEMPTS;
    let nextBackoff = INITIAL_BACKOFF_MS;
    let result = await this.transport.send(data, timeoutMillis);
    while (result.status === 'retryable' && attempts > 0) {
      attempts--;
      const jitter = Math.random() * 2 * JITTER - JITTER;
      const backoff = Math.max(Math.min(nextBackoff * (1 + jitter), MAX_BACKOFF_MS), 0);
      nextBackoff *= BACKOFF_MULTIPLIER;
      const wait = result.retryInMillis ?? backoff;
      const remaining = deadline - Date.now();
      if (wait > remaining) {
        diag.info(`Export retry in ${Math.round(wait)} ms would pass the export's timeout`);
        return result;
      }
      await this.sleep(Math.max(wait, 0));
      result = await this.transport.send(data, Math.max(deadline - Date.now(), 1));
    }
    return result;
  }

  shutdown(): void {
    this.transport.shutdown();
  }
}
