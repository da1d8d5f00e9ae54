// Run-time faults: what the simulator does wrong, and how a JSON patch of them is validated.

/** Route families a fault can be limited to (Nylas's own grouping of its rate limits). */
export const ROUTE_FAMILIES = [
  'grants',
  'webhooks',
  'messages',
  'send',
  'threads',
  'drafts',
  'folders',
  'attachments',
  'events',
  'calendars',
  'contacts',
  'v2',
  'other',
] as const;
export type RouteFamily = (typeof ROUTE_FAMILIES)[number];

/** One kind of error answered to a share of requests. */
export interface ErrorFault {
  /** Share of matching requests (0..1). */
  rate: number;
  /** HTTP status, 400..599. */
  status: number;
  /** Nylas `error.type`, e.g. `api.internal_error`, `provider_error`, `unauthorized`. */
  type: string;
  message?: string;
  /** Limit to these route families (default: every API route). */
  families?: RouteFamily[];
}

/** Everything the simulator can be told to get wrong. Every field is switchable at run time. */
export interface Faults {
  /** Error answers, checked in order; each applies to its share of requests. */
  errors: ErrorFault[];
  /** Added to every API answer. */
  latencyMs: number;
  /** Share of requests that get an extra long-tailed delay (exponential, mean `latencyTailMs`). */
  latencyTailRate: number;
  latencyTailMs: number;
  /** Share answered 429 `nylas_rate_limit_exceeded` (Nylas's own limit; no provider_error). */
  nylasRateLimitRate: number;
  /** Share answered 429 `rate_limit_error` with a `provider_error` (the provider throttles). */
  providerRateLimitRate: number;
  /** `Retry-After` seconds on fault 429s. */
  retryAfterSeconds: number;
  /** Share answered with Fastly's HTML 502 page instead of a Nylas JSON body. */
  htmlErrorRate: number;
  /** Share whose connection is reset without an answer. */
  resetRate: number;
  /** Limit the rate faults above (not `errors`, which carry their own) to these families. */
  families?: RouteFamily[];
  /** Share of grants (beyond explicit settings and `invalidGrants`) that are invalid. */
  invalidGrantShare: number;
  /** Share of v2 accounts (beyond explicit settings) whose sync is `stopped`. */
  stoppedAccountShare: number;
  /** The next N status-page requests answer 500. */
  statusPageFailures: number;
}

/** Faults of the `healthy` scenario: none. */
export function noFaults(): Faults {
  return {
    errors: [],
    latencyMs: 0,
    latencyTailRate: 0,
    latencyTailMs: 0,
    nylasRateLimitRate: 0,
    providerRateLimitRate: 0,
    retryAfterSeconds: 1,
    htmlErrorRate: 0,
    resetRate: 0,
    invalidGrantShare: 0,
    stoppedAccountShare: 0,
    statusPageFailures: 0,
  };
}

/** Thrown for a patch that does not describe valid faults; the message says what is wrong. */
export class FaultsError extends Error {
  override readonly name = 'FaultsError';
}

const SHARES = [
  'latencyTailRate',
  'nylasRateLimitRate',
  'providerRateLimitRate',
  'htmlErrorRate',
  'resetRate',
  'invalidGrantShare',
  'stoppedAccountShare',
] as const;
const NON_NEGATIVE = [
  'latencyMs',
  'latencyTailMs',
  'retryAfterSeconds',
  'statusPageFailures',
] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function families(v: unknown, where: string): RouteFamily[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((f) => (ROUTE_FAMILIES as readonly unknown[]).includes(f)))
    throw new FaultsError(`${where} must be an array of: ${ROUTE_FAMILIES.join(', ')}`);
  return v as RouteFamily[];
}

function share(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1)
    throw new FaultsError(`${where} must be a number from 0 to 1`);
  return v;
}

/** Validates an untrusted patch (control API) and returns the faults with it applied. */
export function applyFaultsPatch(current: Faults, patch: unknown): Faults {
  if (!isRecord(patch)) throw new FaultsError('the faults patch must be a JSON object');
  const next: Faults = { ...current };
  const known = new Set<string>([...SHARES, ...NON_NEGATIVE, 'errors', 'families']);
  for (const [key, value] of Object.entries(patch)) {
    if (!known.has(key))
      throw new FaultsError(`unknown fault "${key}"; known: ${[...known].join(', ')}`);
    if ((SHARES as readonly string[]).includes(key)) {
      (next as unknown as Record<string, number>)[key] = share(value, key);
    } else if ((NON_NEGATIVE as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
        throw new FaultsError(`${key} must be a number >= 0`);
      (next as unknown as Record<string, number>)[key] = value;
    } else if (key === 'families') {
      next.families = families(value, 'families');
    } else {
      if (!Array.isArray(value)) throw new FaultsError('errors must be an array');
      next.errors = value.map((e, i) => {
        const where = `errors[${i}]`;
        if (!isRecord(e)) throw new FaultsError(`${where} must be an object`);
        const status = e.status;
        if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
          throw new FaultsError(`${where}.status must be an integer from 400 to 599`);
        if (typeof e.type !== 'string' || e.type === '')
          throw new FaultsError(`${where}.type must be a non-empty string (the Nylas error.type)`);
        if (e.message !== undefined && typeof e.message !== 'string')
          throw new FaultsError(`${where}.message must be a string`);
        return {
          rate: share(e.rate, `${where}.rate`),
          status,
          type: e.type,
          message: e.message,
          families: families(e.families, `${where}.families`),
        };
      });
    }
  }
  return next;
}
