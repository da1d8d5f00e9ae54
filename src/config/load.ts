import { createRequire } from 'node:module';
import { redactCredentials } from '../util/redact.js';
import { loadWebConfig } from '../util/web-config.js';
import { envSchema, SECRET_KEYS, type ListenAddress, type ParsedEnv } from './schema.js';

/**
 * The YAML parser (about 8 MB of memory) is loaded only when SIDECAR_CONFIG names a file, and
 * synchronously, since loadConfig is: most instances are configured by the environment alone.
 */
const loadYaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');

export type WebhookVerifyMode = 'enforce' | 'observe' | 'off';

/**
 * What this instance runs (README, Running many replicas): `proxy` the proxy (and the webhook
 * listener when configured), `pollers` the pollers and the admin pages about them, `all` both in
 * one process.
 */
export type SidecarRole = 'proxy' | 'pollers' | 'all';

/**
 * Settings that say "this is a real deployment": any of them set means demo mode never starts by
 * surprise (a proxy-only sidecar without NYLAS_API_KEY is the ordinary production shape).
 */
const PRODUCTION_KEYS = [
  'SIDECAR_ROLE',
  'NYLAS_API_KEY',
  'NYLAS_API_URI',
  'NYLAS_CLIENT_ID',
  'NYLAS_CLIENT_SECRET',
  'NYLAS_WEBHOOK_SECRET',
  'NYLAS_STATUS_PAGE_URL',
  'SIDECAR_WEBHOOK_LISTEN',
  'SIDECAR_WEBHOOK_FORWARD_URL',
  'SIDECAR_INJECT_API_KEY',
] as const;

/** The sidecar's configuration: parsed once, validated, frozen. */
export interface Config {
  readonly role: SidecarRole;
  readonly demo: boolean;
  /** Why the sidecar runs in demo or live mode, for --check-config and the banner. */
  readonly modeReason: string;
  readonly demoScenario: string;
  readonly nylas: {
    readonly apiUri: URL;
    readonly apiKey: string | undefined;
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly webhookSecrets: readonly string[];
    readonly statusPageUrl: URL;
  };
  readonly proxy: {
    readonly listen: ListenAddress;
    readonly injectApiKey: boolean;
    /** Idle timer on the upstream: headers, then each gap in the response body. */
    readonly upstreamTimeoutMs: number;
    /** Longest a client may take to send a request's headers. */
    readonly headersTimeoutMs: number;
    /** The latency histogram is by route too (by status class alone otherwise). */
    readonly latencyByRoute: boolean;
    readonly retryMax: number;
    readonly latencyBuckets: readonly number[];
  };
  readonly admin: {
    readonly listen: ListenAddress;
    /** Exporter-toolkit web config file: TLS and basic auth on the admin listener. */
    readonly webConfig: string | undefined;
  };
  readonly webhook: {
    readonly listen: ListenAddress | undefined;
    readonly forwardUrl: URL | undefined;
    readonly verify: WebhookVerifyMode;
    /** Web config file with tls_server_config only: TLS on the webhook listener. */
    readonly webConfig: string | undefined;
  };
  readonly pollers: {
    /** node-cron schedules; null = off. */
    readonly grants: string | null;
    /** The census of every grant by status and provider (slower than `grants`). */
    readonly grantsCensus: string | null;
    readonly webhooks: string | null;
    readonly statusPage: string | null;
    readonly accounts: string | null;
    readonly restartStoppedAccounts: boolean;
    readonly maxGrantSeries: number;
  };
  readonly shutdownGraceMs: number;
  readonly logLevel: ParsedEnv['SIDECAR_LOG_LEVEL'];
}

/** Thrown when the configuration is invalid; `problems` holds every problem, one line each. */
export class ConfigError extends Error {
  readonly code = 'ERR_SIDECAR_CONFIG';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const KNOWN_KEYS = new Set(Object.keys(envSchema.shape));

/**
 * Shows a value in a message: secrets never, and any other value with the credentials a URL can
 * carry (userinfo, query and fragment values) masked, whichever setting it belongs to.
 */
export function displayValue(key: string, value: unknown): string {
  if (value === undefined) return '(unset)';
  const raw = typeof value === 'string' ? value : JSON.stringify(value);
  if (SECRET_KEYS.has(key)) return `"****" (secret, ${raw.length} characters)`;
  // Masked before it is cut, so that a cut cannot leave half a credential unrecognised.
  const s = redactCredentials(raw);
  return JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);
}

export interface LoadOptions {
  /** Environment to read; main.ts passes process.env. */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads the YAML file named by SIDECAR_CONFIG. */
  readFile?: (path: string) => string;
}

/**
 * Settings that existed once, with what to do instead: "unknown setting" would leave someone who
 * set one on purpose guessing.
 */
const RETIRED: Readonly<Record<string, string>> = {
  SIDECAR_MAX_ROUTE_SERIES:
    'no longer a setting: every (method, route) pair of the route table is labelled by name, so the route table bounds the series (README, Metrics); remove it',
};

function readYaml(file: string, readFile: (p: string) => string, problems: string[]) {
  const path = redactCredentials(file);
  const shown = displayValue('SIDECAR_CONFIG', file);
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    problems.push(`SIDECAR_CONFIG=${shown}: cannot read the file (${code})`);
    return {};
  }
  let doc: unknown;
  const yaml = loadYaml();
  try {
    doc = yaml.parse(text);
  } catch (err) {
    problems.push(`SIDECAR_CONFIG=${shown}: not valid YAML${yamlErrorDetail(yaml, err, text)}`);
    return {};
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    problems.push(`SIDECAR_CONFIG=${shown}: the file must hold a mapping of settings`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (Object.hasOwn(RETIRED, k)) {
      problems.push(`${k} (in ${path}): ${RETIRED[k]}`);
      continue;
    }
    if (!KNOWN_KEYS.has(k) || k === 'SIDECAR_CONFIG') {
      // Only the key's name: the value of a mistyped key may well be a secret.
      problems.push(`${redactCredentials(k)} (in ${path}): unknown setting`);
      continue;
    }
    if (Array.isArray(v)) out[k] = v.map(String).join(',');
    else if (v === null) continue;
    else if (typeof v === 'object') problems.push(`${k} (in ${path}): must be a single value`);
    else out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/**
 * Where a YAML file is broken and why, from the parser's own error: its reason, and the line.
 * For a line indented under a plain value (the commonest slip) the parser points at the line
 * above; the indented line is the one to fix, so that is the one named.
 */
function yamlErrorDetail(yaml: typeof import('yaml'), err: unknown, text: string): string {
  if (!(err instanceof yaml.YAMLError)) return '';
  const reason = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  let line = err.linePos?.[0]?.line;
  if (line === undefined) return `: ${reason}`;
  const lines = text.split(/\r?\n/);
  if (err.code === 'BLOCK_AS_IMPLICIT_KEY') {
    const indent = (l: string) => l.length - l.trimStart().length;
    const base = indent(lines[line - 1] ?? '');
    for (let i = line; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.trim() === '' || l.trimStart().startsWith('#')) continue;
      if (indent(l) > base) line = i + 1;
      break;
    }
  }
  return ` at line ${line}: ${reason}${shownLine(lines[line - 1] ?? '')}`;
}

/**
 * The broken line, to recognise it, only when it is one setting that is not a secret: a line of
 * an unterminated secret value must not end up in a message.
 */
function shownLine(l: string): string {
  const key = /^\s*([A-Z][A-Z0-9_]*)\s*:/.exec(l)?.[1];
  if (!key || !KNOWN_KEYS.has(key)) return '';
  const text = SECRET_KEYS.has(key) ? `${key}: ****` : l.trim();
  return ` (${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)})`;
}

/**
 * Builds the configuration from the environment and the optional YAML file (the environment
 * wins). Throws ConfigError listing every problem at once.
 */
export function loadConfig({ env, readFile }: LoadOptions): Config {
  const problems: string[] = [];
  const fromEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (KNOWN_KEYS.has(k)) fromEnv[k] = v;
    // A misspelt SIDECAR_ variable would otherwise be ignored in silence. NYLAS_ ones may belong to
    // the app that shares this environment, so only ours are checked.
    else if (Object.hasOwn(RETIRED, k)) problems.push(`${k}: ${RETIRED[k]}`);
    else if (k.startsWith('SIDECAR_')) problems.push(`${k}: unknown setting`);
  }
  const file = fromEnv.SIDECAR_CONFIG;
  const fromFile = file ? readYaml(file, readFile ?? (() => ''), problems) : {};
  const raw: Record<string, string> = { ...fromFile, ...fromEnv };

  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? '');
      const message =
        issue.code === 'invalid_value' && 'values' in issue
          ? `allowed: ${(issue.values as unknown[]).join(', ')}`
          : issue.message;
      problems.push(`${key}=${displayValue(key, raw[key])}: ${message}`);
    }
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const { demo, modeReason } = decideMode(e, raw);
  const role: SidecarRole = e.SIDECAR_ROLE ?? 'all';
  if (demo && role !== 'all')
    problems.push(
      `SIDECAR_ROLE=${displayValue('SIDECAR_ROLE', role)}: demo mode (SIDECAR_DEMO) runs every part in one process; allowed with it: all, or unset`,
    );
  if (
    role === 'pollers' &&
    e.NYLAS_API_KEY === undefined &&
    e.NYLAS_CLIENT_ID === undefined &&
    !demo
  )
    problems.push(
      'NYLAS_API_KEY=(unset): required with SIDECAR_ROLE=pollers (the grants and webhooks pollers call Nylas with it)',
    );
  if (role === 'pollers' && e.SIDECAR_WEBHOOK_LISTEN)
    problems.push(
      `SIDECAR_WEBHOOK_LISTEN=${displayValue('SIDECAR_WEBHOOK_LISTEN', raw.SIDECAR_WEBHOOK_LISTEN)}: the webhook listener runs with SIDECAR_ROLE=proxy or all, not pollers`,
    );
  const secrets = e.NYLAS_WEBHOOK_SECRET;
  const verify: WebhookVerifyMode =
    e.SIDECAR_WEBHOOK_VERIFY ?? (secrets.length > 0 ? 'enforce' : 'off');

  if (e.SIDECAR_WEBHOOK_LISTEN && !e.SIDECAR_WEBHOOK_FORWARD_URL)
    problems.push(
      'SIDECAR_WEBHOOK_FORWARD_URL=(unset): required when SIDECAR_WEBHOOK_LISTEN is set (the app endpoint to forward deliveries to)',
    );
  if (verify !== 'off' && secrets.length === 0)
    problems.push(
      `SIDECAR_WEBHOOK_VERIFY=${displayValue('SIDECAR_WEBHOOK_VERIFY', verify)}: needs NYLAS_WEBHOOK_SECRET; allowed without a secret: off`,
    );
  if (e.SIDECAR_INJECT_API_KEY && !e.NYLAS_API_KEY && !demo)
    problems.push('SIDECAR_INJECT_API_KEY="true": needs NYLAS_API_KEY');
  if ((e.NYLAS_CLIENT_ID === undefined) !== (e.NYLAS_CLIENT_SECRET === undefined))
    problems.push(
      `${e.NYLAS_CLIENT_ID === undefined ? 'NYLAS_CLIENT_ID' : 'NYLAS_CLIENT_SECRET'}=(unset): NYLAS_CLIENT_ID and NYLAS_CLIENT_SECRET go together (v2 accounts poller)`,
    );
  const a = e.SIDECAR_LISTEN!;
  const b = e.SIDECAR_ADMIN_LISTEN!;
  const w = e.SIDECAR_WEBHOOK_LISTEN;
  const clash = (x: ListenAddress, y: ListenAddress) =>
    x.port !== 0 && x.port === y.port && x.host === y.host;
  if (clash(a, b))
    problems.push(
      `SIDECAR_ADMIN_LISTEN=${displayValue('', `${b.host}:${b.port}`)}: same address as SIDECAR_LISTEN`,
    );
  if (w && (clash(w, a) || clash(w, b)))
    problems.push(
      `SIDECAR_WEBHOOK_LISTEN=${displayValue('', `${w.host}:${w.port}`)}: same address as another listener`,
    );
  if (e.SIDECAR_WEBHOOK_WEB_CONFIG && !w)
    problems.push(
      `SIDECAR_WEBHOOK_WEB_CONFIG=${displayValue('SIDECAR_WEBHOOK_WEB_CONFIG', e.SIDECAR_WEBHOOK_WEB_CONFIG)}: needs SIDECAR_WEBHOOK_LISTEN (it sets the webhook listener's TLS)`,
    );
  // The files are read here too, so that --check-config reports a bad certificate or hash.
  if (readFile)
    for (const [setting, allow] of [
      ['SIDECAR_ADMIN_WEB_CONFIG', 'full'],
      ['SIDECAR_WEBHOOK_WEB_CONFIG', 'tls'],
    ] as const) {
      const path = e[setting];
      if (!path || (setting === 'SIDECAR_WEBHOOK_WEB_CONFIG' && !w)) continue;
      const r = loadWebConfig(path, { setting, readFile, allow });
      if (!r.ok) problems.push(...r.problems);
    }
  if (problems.length > 0) throw new ConfigError(problems);

  const apiUri = e.NYLAS_API_URI!;
  // The SDK builds `${apiUri}${path}`; a trailing slash on the base would double it.
  apiUri.pathname = apiUri.pathname.replace(/\/+$/, '');
  return deepFreeze({
    role,
    demo,
    modeReason,
    demoScenario: e.SIDECAR_DEMO_SCENARIO,
    nylas: {
      apiUri,
      apiKey: e.NYLAS_API_KEY,
      clientId: e.NYLAS_CLIENT_ID,
      clientSecret: e.NYLAS_CLIENT_SECRET,
      webhookSecrets: secrets,
      statusPageUrl: e.NYLAS_STATUS_PAGE_URL!,
    },
    proxy: {
      listen: a,
      injectApiKey: e.SIDECAR_INJECT_API_KEY,
      upstreamTimeoutMs: e.SIDECAR_UPSTREAM_TIMEOUT_MS,
      headersTimeoutMs: e.SIDECAR_HEADERS_TIMEOUT_MS,
      latencyByRoute: e.SIDECAR_LATENCY_BY_ROUTE,
      retryMax: e.SIDECAR_RETRY_MAX,
      latencyBuckets: e.SIDECAR_LATENCY_BUCKETS,
    },
    admin: { listen: b, webConfig: e.SIDECAR_ADMIN_WEB_CONFIG },
    webhook: {
      listen: w,
      forwardUrl: e.SIDECAR_WEBHOOK_FORWARD_URL,
      verify,
      webConfig: e.SIDECAR_WEBHOOK_WEB_CONFIG,
    },
    pollers: {
      grants: e.SIDECAR_POLL_GRANTS,
      grantsCensus: e.SIDECAR_POLL_GRANTS_CENSUS,
      webhooks: e.SIDECAR_POLL_WEBHOOKS,
      statusPage: e.SIDECAR_POLL_STATUS_PAGE,
      accounts: e.SIDECAR_POLL_ACCOUNTS,
      restartStoppedAccounts: e.SIDECAR_RESTART_STOPPED_ACCOUNTS,
      maxGrantSeries: e.SIDECAR_MAX_GRANT_SERIES,
    },
    shutdownGraceMs: e.SIDECAR_SHUTDOWN_GRACE_MS,
    logLevel: e.SIDECAR_LOG_LEVEL,
  });
}

/**
 * Demo mode starts when asked for (SIDECAR_DEMO=true), or on the newcomer path: nothing that
 * names a real deployment is set (no role, upstream, key or webhook setting). SIDECAR_DEMO=auto
 * (docker-compose) runs the demo unless Nylas credentials or an upstream are given.
 */
function decideMode(
  e: ParsedEnv,
  raw: Readonly<Record<string, string>>,
): { demo: boolean; modeReason: string } {
  const given = PRODUCTION_KEYS.filter((k) => raw[k] !== undefined && raw[k].trim() !== '');
  if (e.SIDECAR_DEMO === true) return { demo: true, modeReason: 'SIDECAR_DEMO=true' };
  if (e.SIDECAR_DEMO === false) return { demo: false, modeReason: 'SIDECAR_DEMO=false' };
  if (e.SIDECAR_DEMO === 'auto') {
    const creds = given.filter((k) => k.startsWith('NYLAS_API') || k.startsWith('NYLAS_CLIENT'));
    return creds.length === 0
      ? { demo: true, modeReason: 'SIDECAR_DEMO=auto and no Nylas credentials or upstream set' }
      : { demo: false, modeReason: `SIDECAR_DEMO=auto and ${creds.join(', ')} set` };
  }
  return given.length === 0
    ? { demo: true, modeReason: 'nothing configured (no NYLAS_API_KEY, SIDECAR_ROLE or upstream)' }
    : { demo: false, modeReason: `${given.join(', ')} set` };
}

/** Returns a copy of a config with some parts replaced (demo mode, tests). */
export function withOverrides(config: Config, patch: (draft: MutableDeep<Config>) => void): Config {
  const draft = structuredCloneConfig(config);
  patch(draft);
  return deepFreeze(draft);
}

type MutableDeep<T> = T extends URL
  ? URL
  : T extends readonly (infer U)[]
    ? U[]
    : T extends object
      ? { -readonly [K in keyof T]: MutableDeep<T[K]> }
      : T;

function structuredCloneConfig(c: Config): MutableDeep<Config> {
  const clone = (v: unknown): unknown => {
    if (v instanceof URL) return new URL(v.href);
    if (Array.isArray(v)) return v.map(clone);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
    return v;
  };
  return clone(c) as MutableDeep<Config>;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !(o instanceof URL)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
