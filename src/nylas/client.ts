import type { Dispatcher } from 'undici';
import { callJson, NylasCallError } from './http.js';
import { redirectAllowed } from './redirects.js';
import type {
  Grant,
  NotificationChannel,
  StatusSummary,
  V2Account,
  V2Webhook,
  Webhook,
} from './schemas.js';

/**
 * zod and the response schemas (about 14 MB of memory together) are loaded on the first call to
 * Nylas, not with the client: a proxy-role instance builds one for /support and may never call.
 */
let schemasLoaded: Promise<typeof import('./schemas.js')> | undefined;
const schemas = () => (schemasLoaded ??= import('./schemas.js'));

export interface NylasClientOptions {
  apiUri: URL;
  /** v3 API key: Bearer auth on /v3/ calls. */
  apiKey?: string;
  /** v2 application credentials: Basic `client_secret:` on /a/{client_id}/ calls. */
  clientId?: string;
  clientSecret?: string;
  dispatcher?: Dispatcher;
  now: () => number;
  /** Told of every answer: which API (a closed set) and its status code, or 'error'. */
  onAnswer?: (api: NylasApiName, code: string) => void;
}

/** The APIs the pollers call, as a bounded label value. */
export type NylasApiName =
  | 'grants'
  | 'grant'
  | 'webhooks'
  | 'channels'
  | 'v2_webhooks'
  | 'v2_accounts'
  | 'v2_account_sync'
  | 'status_page';

export interface PageQuery {
  limit: number;
  offset: number;
  signal: AbortSignal;
}

/** A page of grants, optionally only those Nylas holds as `invalid`. */
export interface GrantsQuery extends PageQuery {
  grant_status?: 'valid' | 'invalid';
  provider?: string;
}

/** The calls the pollers and the support page make to Nylas. */
export interface NylasClient {
  readonly hasApiKey: boolean;
  readonly hasV2Credentials: boolean;
  /** One page of `GET /v3/grants`, oldest first so that new grants do not shift the offsets. */
  listGrants(q: GrantsQuery): Promise<Grant[]>;
  /** `GET /v3/grants/{grant_id}`; undefined when Nylas answers 404. */
  getGrant(grantId: string, signal: AbortSignal): Promise<Grant | undefined>;
  /** One page of `GET /v3/webhooks`. */
  listWebhooks(
    signal: AbortSignal,
    pageToken?: string,
  ): Promise<{ webhooks: Webhook[]; nextCursor: string | undefined }>;
  /** `GET /v3/channels/{pubsub|sns}`; undefined when the API has no such channels (404). */
  listChannels(
    type: 'pubsub' | 'sns',
    signal: AbortSignal,
  ): Promise<NotificationChannel[] | undefined>;
  /** `GET /a/{client_id}/webhooks`; undefined when the host has no v2 API (404). */
  listV2Webhooks(signal: AbortSignal): Promise<V2Webhook[] | undefined>;
  /** One page of `GET /a/{client_id}/accounts`. */
  listAccounts(q: PageQuery): Promise<V2Account[]>;
  /** `POST /a/{client_id}/accounts/{id}/downgrade`. */
  downgradeAccount(accountId: string, signal: AbortSignal): Promise<void>;
  /** `POST /a/{client_id}/accounts/{id}/upgrade`. */
  upgradeAccount(accountId: string, signal: AbortSignal): Promise<void>;
}

/** The call's answer, or undefined when Nylas answers 404 (the thing is not there). */
async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof NylasCallError && err.status === 404) return undefined;
    throw err;
  }
}

/** Builds the client. Authorization values are built here, from config, and go nowhere else. */
export function createNylasClient(opts: NylasClientOptions): NylasClient {
  const base = opts.apiUri.href.replace(/\/+$/, '');
  const url = (path: string, query?: Record<string, string | number>) => {
    const u = new URL(`${base}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, String(v));
    return u;
  };
  const bearer = opts.apiKey ? `Bearer ${opts.apiKey}` : undefined;
  const basic =
    opts.clientId && opts.clientSecret
      ? `Basic ${Buffer.from(`${opts.clientSecret}:`).toString('base64')}`
      : undefined;
  const clientPath = opts.clientId ? `/a/${encodeURIComponent(opts.clientId)}` : '';
  const { dispatcher, now } = opts;
  const onAnswer = (api: NylasApiName) =>
    opts.onAnswer ? (code: string) => opts.onAnswer?.(api, code) : undefined;

  const v3 = () => {
    if (!bearer)
      throw new NylasCallError('ERR_NYLAS_NO_CREDENTIALS', 'no NYLAS_API_KEY configured');
    return bearer;
  };
  const v2 = () => {
    if (!basic)
      throw new NylasCallError('ERR_NYLAS_NO_CREDENTIALS', 'no NYLAS_CLIENT_ID/SECRET configured');
    return basic;
  };

  /** A v2 account's sync restart is a downgrade then an upgrade: the same call, two paths. */
  const accountSync = async (
    accountId: string,
    action: 'downgrade' | 'upgrade',
    signal: AbortSignal,
  ): Promise<void> => {
    await callJson({
      method: 'POST',
      url: url(`${clientPath}/accounts/${encodeURIComponent(accountId)}/${action}`),
      authorization: v2(),
      signal,
      schema: (await schemas()).v2ActionSchema,
      dispatcher,
      now,
      onAnswer: onAnswer('v2_account_sync'),
    });
  };

  return {
    hasApiKey: bearer !== undefined,
    hasV2Credentials: basic !== undefined,

    async listGrants({ limit, offset, signal, grant_status, provider }) {
      const query: Record<string, string | number> = {
        limit,
        offset,
        sort_by: 'created_at',
        order_by: 'asc',
      };
      if (grant_status) query.grant_status = grant_status;
      if (provider) query.provider = provider;
      const res = await callJson({
        url: url('/v3/grants', query),
        authorization: v3(),
        signal,
        schema: (await schemas()).grantListSchema,
        dispatcher,
        now,
        onAnswer: onAnswer('grants'),
      });
      return res.data;
    },

    async getGrant(grantId, signal) {
      const res = await unlessNotFound(
        callJson({
          url: url(`/v3/grants/${encodeURIComponent(grantId)}`),
          authorization: v3(),
          signal,
          schema: (await schemas()).grantGetSchema,
          dispatcher,
          now,
          onAnswer: onAnswer('grant'),
        }),
      );
      return res?.data;
    },

    async listWebhooks(signal, pageToken) {
      const res = await callJson({
        url: url('/v3/webhooks', pageToken ? { page_token: pageToken } : {}),
        authorization: v3(),
        signal,
        schema: (await schemas()).webhookListSchema,
        dispatcher,
        now,
        onAnswer: onAnswer('webhooks'),
      });
      return { webhooks: res.data, nextCursor: res.next_cursor ?? undefined };
    },

    async listChannels(type, signal) {
      const res = await unlessNotFound(
        callJson({
          url: url(`/v3/channels/${type}`),
          authorization: v3(),
          signal,
          schema: (await schemas()).channelListSchema,
          dispatcher,
          now,
          onAnswer: onAnswer('channels'),
        }),
      );
      return res?.data;
    },

    async listV2Webhooks(signal) {
      return unlessNotFound(
        callJson({
          url: url(`${clientPath}/webhooks`),
          authorization: v2(),
          signal,
          schema: (await schemas()).v2WebhookListSchema,
          dispatcher,
          now,
          onAnswer: onAnswer('v2_webhooks'),
        }),
      );
    },

    async listAccounts({ limit, offset, signal }) {
      return callJson({
        url: url(`${clientPath}/accounts`, { limit, offset }),
        authorization: v2(),
        signal,
        schema: (await schemas()).v2AccountListSchema,
        dispatcher,
        now,
        onAnswer: onAnswer('v2_accounts'),
      });
    },

    downgradeAccount: (accountId, signal) => accountSync(accountId, 'downgrade', signal),
    upgradeAccount: (accountId, signal) => accountSync(accountId, 'upgrade', signal),
  };
}

/** Redirects of the status page followed at most: status.nylas.com -> a per-version page. */
const STATUS_PAGE_MAX_REDIRECTS = 3;

/**
 * `GET {statusPageUrl}/api/v2/summary.json` (Atlassian Statuspage; no auth). Redirects are
 * followed within the configured host's domain only (redirectAllowed); `onFollow` is told where.
 */
export function fetchStatusSummary(opts: {
  statusPageUrl: URL;
  signal: AbortSignal;
  dispatcher?: Dispatcher;
  now: () => number;
  onAnswer?: (api: NylasApiName, code: string) => void;
  onFollow?: (target: URL) => void;
}): Promise<StatusSummary> {
  return schemas().then(({ statusSummarySchema }) => statusSummary(opts, statusSummarySchema));
}

function statusSummary(
  opts: Parameters<typeof fetchStatusSummary>[0],
  statusSummarySchema: typeof import('./schemas.js').statusSummarySchema,
): Promise<StatusSummary> {
  const base = opts.statusPageUrl.href.endsWith('/')
    ? opts.statusPageUrl.href
    : `${opts.statusPageUrl.href}/`;
  return callJson({
    url: new URL('api/v2/summary.json', base),
    signal: opts.signal,
    schema: statusSummarySchema,
    dispatcher: opts.dispatcher,
    now: opts.now,
    maxBytes: 4 * 1024 * 1024,
    onAnswer: opts.onAnswer ? (code) => opts.onAnswer?.('status_page', code) : undefined,
    redirects: {
      max: STATUS_PAGE_MAX_REDIRECTS,
      allowed: (target) => redirectAllowed(opts.statusPageUrl, target),
      onFollow: opts.onFollow,
    },
  });
}
