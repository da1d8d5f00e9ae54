import { createHmac, randomBytes } from 'node:crypto';
import type { UpstreamErrorRecord } from './error-record.js';

// Nylas answers 401 both for an invalid grant and for a wrong or revoked API key, with the same
// error type. What tells them apart is the pattern: an invalid grant fails on its own routes while
// the same key keeps working for other grants; a bad key fails everywhere (many grants, routes
// that name no grant, the pollers' own calls) and nothing succeeds. A grant-route 401 is therefore
// held until the same credential either succeeds somewhere (the key works: the grant is to blame)
// or keeps failing across grants with no success (the key is to blame). Counters cannot be taken
// back, so nothing is counted before that decision.

/** Distinct grants failing with no success in between at which the key is blamed. */
const KEY_GRANTS = 3;
/**
 * ...and for at least this long: with 40 % of grants invalid, three 401s in a row from different
 * grants happen in a burst, but a working key does not go seconds without a success while traffic
 * flows.
 */
const KEY_QUIET_MS = 5_000;
/** A held 401 nobody contradicted for this long is the grant's (one grant failing, little traffic). */
const SETTLE_MS = 60_000;
/** Credentials tracked (an app using per-grant access tokens has one per grant). */
const MAX_CREDENTIALS = 256;
/** Held 401s per credential; past this the oldest are settled as the grant's. */
const MAX_HELD = 500;
/** A blamed key with no 401 for this long is no longer shown (the app stopped using it). */
const SHOWN_MS = 15 * 60_000;

/** Where a 401 was seen: proxied traffic, or the sidecar's own calls with NYLAS_API_KEY. */
export type KeySource = 'proxy' | 'pollers';

/** Who a 401 is blamed on, once decided. */
export type Blame = 'grant' | 'key';

interface Held {
  route: string;
  grantId: string | undefined;
  record: UpstreamErrorRecord | undefined;
}

interface CredentialState {
  fingerprint: string;
  /** Set once the key is blamed; cleared by the next success. */
  invalidSince: number | undefined;
  lastFailureAt: number;
  failures: number;
  grants: Set<string>;
  nonGrantRoutes: Set<string>;
  held: Held[];
  heldGrants: Set<string>;
  firstHeldAt: number;
  lastSeenAt: number;
}

/** What / and /status say about API keys. */
export interface KeyProblem {
  /** Short keyed hash of the credential (HMAC with a per-process secret): never the key. */
  fingerprint: string;
  source: KeySource;
  since: number;
  lastFailureAt: number;
  failures: number;
  grants: number;
  nonGrantRoutes: string[];
}

export interface KeyHealthDeps {
  /** A 401 blamed on the API key. */
  onKeyFailure(source: KeySource): void;
  /** A 401 blamed on the grant (nylas_grant_auth_failures_total). */
  onGrantFailure(route: string): void;
  now?: () => number;
  /** HMAC secret for fingerprints (tests); random per process otherwise. */
  secret?: Buffer;
}

/** Tells a wrong or revoked API key from invalid grants, from the 401s seen and what succeeded. */
export function createKeyHealth(deps: KeyHealthDeps) {
  const now = deps.now ?? Date.now;
  const secret = deps.secret ?? randomBytes(32);
  const creds = new Map<string, CredentialState>();
  const pollerCreds = new Set<string>();

  const fingerprintOf = (credential: string): string =>
    createHmac('sha256', secret).update(credential).digest('hex').slice(0, 8);

  const stateOf = (credential: string, t: number): CredentialState => {
    const fp = fingerprintOf(credential);
    let s = creds.get(fp);
    if (!s) {
      if (creds.size >= MAX_CREDENTIALS) evictOldest();
      s = {
        fingerprint: fp,
        invalidSince: undefined,
        lastFailureAt: 0,
        failures: 0,
        grants: new Set(),
        nonGrantRoutes: new Set(),
        held: [],
        heldGrants: new Set(),
        firstHeldAt: 0,
        lastSeenAt: t,
      };
      creds.set(fp, s);
    }
    s.lastSeenAt = t;
    return s;
  };

  function evictOldest(): void {
    let oldest: CredentialState | undefined;
    for (const s of creds.values()) if (!oldest || s.lastSeenAt < oldest.lastSeenAt) oldest = s;
    if (!oldest) return;
    settle(oldest, 'grant');
    creds.delete(oldest.fingerprint);
  }

  function settle(s: CredentialState, blame: Blame): void {
    for (const h of s.held) {
      if (h.record) h.record.blame = blame;
      if (blame === 'grant') deps.onGrantFailure(h.route);
      else keyFailure(s, 'proxy', h.route, h.grantId);
    }
    s.held = [];
    s.heldGrants.clear();
  }

  function keyFailure(
    s: CredentialState,
    source: KeySource,
    route: string | undefined,
    grantId: string | undefined,
  ): void {
    s.failures++;
    s.lastFailureAt = now();
    if (grantId) s.grants.add(grantId);
    else if (route) s.nonGrantRoutes.add(route);
    deps.onKeyFailure(source);
  }

  function blameKey(s: CredentialState, t: number): void {
    s.invalidSince ??= t;
    settle(s, 'key');
  }

  /** Settles held 401s whose time has come; called on reads (scrape, /status). */
  function sweep(): void {
    const t = now();
    for (const s of creds.values()) {
      if (s.held.length === 0) continue;
      if (s.heldGrants.size >= KEY_GRANTS && t - s.firstHeldAt >= KEY_QUIET_MS) blameKey(s, t);
      else if (t - s.firstHeldAt >= SETTLE_MS) settle(s, 'grant');
    }
  }

  return {
    fingerprint: fingerprintOf,

    /** True while some credential has held or blamed 401s: successes must then be reported. */
    get watching(): boolean {
      return creds.size > 0;
    },

    /**
     * A proxied 401. `credential` is the Authorization header value sent upstream (hashed at once,
     * never kept); `record` is the recent-errors entry, whose `blame` is set once decided.
     */
    proxyUnauthorized(o: {
      credential: string | undefined;
      route: string;
      grantId: string | undefined;
      grantScoped: boolean;
      record: UpstreamErrorRecord | undefined;
    }): void {
      const t = now();
      const s = stateOf(o.credential ?? '', t);
      if (!o.grantScoped) {
        // No grant involved: only the key can be wrong.
        blameKey(s, t);
        keyFailure(s, 'proxy', o.route, undefined);
        if (o.record) o.record.blame = 'key';
        return;
      }
      if (s.invalidSince !== undefined || pollerCreds.has(s.fingerprint)) {
        s.invalidSince ??= t;
        keyFailure(s, 'proxy', o.route, o.grantId);
        if (o.record) o.record.blame = 'key';
        return;
      }
      if (s.held.length === 0) s.firstHeldAt = t;
      s.held.push({ route: o.route, grantId: o.grantId, record: o.record });
      if (o.grantId) s.heldGrants.add(o.grantId);
      if (s.held.length > MAX_HELD) {
        const h = s.held.shift()!;
        if (h.record) h.record.blame = 'grant';
        deps.onGrantFailure(h.route);
      }
      if (s.heldGrants.size >= KEY_GRANTS && t - s.firstHeldAt >= KEY_QUIET_MS) blameKey(s, t);
    },

    /** A proxied answer that got past authentication (2xx-4xx other than 401 and 429). */
    proxyAuthenticated(credential: string | undefined): void {
      const fp = fingerprintOf(credential ?? '');
      const s = creds.get(fp);
      if (!s) return;
      settle(s, 'grant');
      creds.delete(fp);
    },

    /** The pollers' own call with NYLAS_API_KEY answered `code`. */
    pollerAnswer(apiKey: string, code: number): void {
      const t = now();
      if (code === 401) {
        const s = stateOf(`Bearer ${apiKey}`, t);
        pollerCreds.add(s.fingerprint);
        blameKey(s, t);
        keyFailure(s, 'pollers', undefined, undefined);
        return;
      }
      if (code >= 200 && code < 300) {
        const fp = fingerprintOf(`Bearer ${apiKey}`);
        pollerCreds.delete(fp);
        const s = creds.get(fp);
        if (s) {
          settle(s, 'grant');
          creds.delete(fp);
        }
      }
    },

    sweep,

    /** Keys currently blamed, most recent failure first. */
    problems(): KeyProblem[] {
      sweep();
      const t = now();
      const out: KeyProblem[] = [];
      for (const s of creds.values()) {
        if (s.invalidSince === undefined || t - s.lastFailureAt > SHOWN_MS) continue;
        out.push({
          fingerprint: s.fingerprint,
          source: pollerCreds.has(s.fingerprint) ? 'pollers' : 'proxy',
          since: s.invalidSince,
          lastFailureAt: s.lastFailureAt,
          failures: s.failures,
          grants: s.grants.size,
          nonGrantRoutes: [...s.nonGrantRoutes],
        });
      }
      return out.sort((a, b) => b.lastFailureAt - a.lastFailureAt);
    },
  };
}

export type KeyHealth = ReturnType<typeof createKeyHealth>;
