import { z } from './fields.js';
import { nodeCron } from '../util/cron.js';

/** Settings whose values are secrets: masked in every message, never logged. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'NYLAS_API_KEY',
  'NYLAS_CLIENT_SECRET',
  'NYLAS_WEBHOOK_SECRET',
]);

const DEFAULT_BUCKETS = '0.05,0.1,0.25,0.5,1,2.5,5,10,30,60,90,120';

const bool = (def: boolean) =>
  z
    .string()
    .default(String(def))
    .transform((v, ctx) => {
      const s = v.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
      ctx.addIssue({ code: 'custom', message: 'allowed: true or false' });
      return z.NEVER;
    });

const int = (def: number, min: number, max: number) =>
  z
    .string()
    .default(String(def))
    .transform((v, ctx) => {
      const n = Number(v.trim());
      if (!Number.isInteger(n) || n < min || n > max || v.trim() === '') {
        ctx.addIssue({ code: 'custom', message: `allowed: a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

export interface ListenAddress {
  host: string;
  port: number;
}

/** A DNS name or IPv4 address (IPv6 goes in brackets); empty means every interface. */
const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

const listen = (def: string | undefined) => {
  const base = def === undefined ? z.string().optional() : z.string().default(def);
  return base.transform((v, ctx): ListenAddress | undefined => {
    if (v === undefined || v.trim() === '') return undefined;
    const s = v.trim();
    // The colon is required: "4000" alone once passed as host "400" port 0 and then failed at
    // bind time with EADDRNOTAVAIL naming no variable.
    if (/^\d+$/.test(s)) {
      ctx.addIssue({
        code: 'custom',
        message: `a port alone is not an address; allowed: host:port, e.g. 127.0.0.1:${s} (this host only) or 0.0.0.0:${s} (every interface)`,
      });
      return z.NEVER;
    }
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(s);
    const port = m ? Number(m[3]) : NaN;
    const host = m ? (m[1] ?? m[2] ?? '') : '';
    if (
      !m ||
      !(port >= 0 && port <= 65535) ||
      (m[2] !== undefined && host !== '' && !HOST.test(host))
    ) {
      ctx.addIssue({ code: 'custom', message: 'allowed: host:port, e.g. 127.0.0.1:4000 or :4000' });
      return z.NEVER;
    }
    return { host: host === '' ? '0.0.0.0' : host, port };
  });
};

const httpUrl = (def: string | undefined, what: string) => {
  const base = def === undefined ? z.string().optional() : z.string().default(def);
  return base.transform((v, ctx): URL | undefined => {
    if (v === undefined || v.trim() === '') return undefined;
    let u: URL;
    try {
      u = new URL(v.trim());
    } catch {
      ctx.addIssue({ code: 'custom', message: `allowed: an absolute http(s) URL (${what})` });
      return z.NEVER;
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) {
      ctx.addIssue({
        code: 'custom',
        message: `allowed: an http:// or https:// URL without credentials (${what})`,
      });
      return z.NEVER;
    }
    return u;
  });
};

const schedule = (def: string) =>
  z
    .string()
    .default(def)
    .transform((v, ctx): string | null => {
      const s = v.trim();
      if (s.toLowerCase() === 'off') return null;
      // The default is known good: node-cron is loaded only to check a schedule someone set.
      if (s !== def && !nodeCron().validate(s)) {
        ctx.addIssue({
          code: 'custom',
          message: 'allowed: a node-cron schedule (5 or 6 fields, e.g. "*/5 * * * *") or "off"',
        });
        return z.NEVER;
      }
      return s;
    });

const secretList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

const optionalSecret = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined));

const optionalPath = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined));

/**
 * The whole configuration, keyed by the environment variable that sets each value. The YAML file
 * (SIDECAR_CONFIG) uses the same keys. Unknown keys are errors.
 */
export const envSchema = z
  .object({
    NYLAS_API_URI: httpUrl('https://api.us.nylas.com', 'the Nylas API base'),
    NYLAS_API_KEY: optionalSecret,
    NYLAS_CLIENT_ID: z
      .string()
      .optional()
      .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined)),
    NYLAS_CLIENT_SECRET: optionalSecret,
    NYLAS_WEBHOOK_SECRET: secretList,
    NYLAS_STATUS_PAGE_URL: httpUrl('https://status.nylas.com', 'a Statuspage base URL'),
    SIDECAR_LISTEN: listen('127.0.0.1:4000'),
    SIDECAR_ADMIN_LISTEN: listen('127.0.0.1:9464'),
    SIDECAR_WEBHOOK_LISTEN: listen(undefined),
    SIDECAR_ADMIN_WEB_CONFIG: optionalPath,
    SIDECAR_WEBHOOK_WEB_CONFIG: optionalPath,
    SIDECAR_WEBHOOK_FORWARD_URL: httpUrl(undefined, "the app's webhook endpoint"),
    SIDECAR_WEBHOOK_VERIFY: z.enum(['enforce', 'observe', 'off']).optional(),
    SIDECAR_INJECT_API_KEY: bool(false),
    SIDECAR_UPSTREAM_TIMEOUT_MS: int(95_000, 100, 3_600_000),
    // Node's own default is 60 s, checked every 30 s (so up to 90 s); half of it, checked every
    // second, bounds a slow header sender well inside a minute.
    SIDECAR_HEADERS_TIMEOUT_MS: int(30_000, 100, 600_000),
    SIDECAR_RETRY_MAX: int(0, 0, 5),
    SIDECAR_POLL_GRANTS: schedule('*/5 * * * *'),
    SIDECAR_POLL_GRANTS_CENSUS: schedule('7 * * * *'),
    SIDECAR_POLL_WEBHOOKS: schedule('* * * * *'),
    SIDECAR_POLL_STATUS_PAGE: schedule('* * * * *'),
    SIDECAR_POLL_ACCOUNTS: schedule('*/5 * * * *'),
    SIDECAR_RESTART_STOPPED_ACCOUNTS: bool(false),
    SIDECAR_MAX_GRANT_SERIES: int(1000, 0, 1_000_000),
    SIDECAR_LATENCY_BUCKETS: z
      .string()
      .default(DEFAULT_BUCKETS)
      .transform((v, ctx) => {
        const parts = v.split(',').map((s) => Number(s.trim()));
        const ok =
          parts.length > 0 &&
          parts.length <= 40 &&
          parts.every((n, i) => Number.isFinite(n) && n > 0 && (i === 0 || n > parts[i - 1]!));
        if (!ok) {
          ctx.addIssue({
            code: 'custom',
            message: 'allowed: up to 40 increasing positive numbers of seconds, comma-separated',
          });
          return z.NEVER;
        }
        return parts;
      }),
    SIDECAR_LATENCY_BY_ROUTE: bool(false),
    SIDECAR_SHUTDOWN_GRACE_MS: int(30_000, 0, 600_000),
    SIDECAR_LOG_LEVEL: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info'),
    SIDECAR_ROLE: z.enum(['proxy', 'pollers', 'all']).optional(),
    SIDECAR_DEMO: z
      .string()
      .optional()
      .transform((v, ctx): boolean | 'auto' | undefined => {
        if (v === undefined || v.trim() === '') return undefined;
        const s = v.trim().toLowerCase();
        if (s === 'auto') return 'auto';
        if (['1', 'true', 'yes', 'on'].includes(s)) return true;
        if (['0', 'false', 'no', 'off'].includes(s)) return false;
        ctx.addIssue({ code: 'custom', message: 'allowed: true, false or auto' });
        return z.NEVER;
      }),
    SIDECAR_DEMO_SCENARIO: z.string().default('healthy'),
    SIDECAR_CONFIG: z.string().optional(),
  })
  .strict();

export type EnvInput = z.input<typeof envSchema>;
export type ParsedEnv = z.output<typeof envSchema>;
