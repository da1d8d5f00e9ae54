// Application-scoped v3 routes: /v3/grants (limit/offset) and /v3/webhooks (destinations).
import type { SimContext } from './context.js';
import { grantCreatedAt, grantEmail, grantObject, providerOf } from './data.js';
import type { Exchange } from './http.js';
import {
  BadRequest,
  isRecord,
  parseLimit,
  parseOffset,
  readJson,
  sendJson,
  sendNylasError,
} from './http.js';
import { newWebhookId, webhookView, type WebhookDestination } from './state.js';

/** GET /v3/grants: limit (default 10, max 200), offset, and the documented filters. */
function listGrants(ctx: SimContext, x: Exchange): void {
  const q = x.url.searchParams;
  const limit = parseLimit(x.url, 10);
  const offset = parseOffset(x.url);
  const status = q.get('grant_status');
  if (status !== null && status !== 'valid' && status !== 'invalid')
    throw new BadRequest('grant_status must be valid or invalid');
  const provider = q.get('provider');
  const email = q.get('email')?.toLowerCase();
  const since = q.get('since') === null ? undefined : Number(q.get('since'));
  const before = q.get('before') === null ? undefined : Number(q.get('before'));
  if (
    (since !== undefined && !Number.isFinite(since)) ||
    (before !== undefined && !Number.isFinite(before))
  )
    throw new BadRequest('since and before must be Unix timestamps in seconds');
  const orderBy = q.get('order_by') ?? 'desc';
  if (orderBy !== 'asc' && orderBy !== 'desc') throw new BadRequest('order_by must be asc or desc');
  const sortBy = q.get('sort_by') ?? 'created_at';
  if (sortBy !== 'created_at' && sortBy !== 'updated_at')
    throw new BadRequest('sort_by must be created_at or updated_at');

  const { grants, seed, faults } = ctx;
  const n = grants.count;
  const at = (k: number) => (orderBy === 'desc' ? n - 1 - k : k);
  const data: Array<Record<string, unknown>> = [];
  let listed: number[] | undefined;
  const filtered =
    status !== null ||
    provider !== null ||
    email !== undefined ||
    since !== undefined ||
    before !== undefined;
  if (!filtered && grants.deleted.size === 0) {
    // The common poller call: O(limit), whatever the number of grants.
    for (let k = offset; k < Math.min(n, offset + limit); k++) {
      const i = at(k);
      data.push(grantObject(seed, i, grants.status(i, faults)));
    }
  } else if (status === 'invalid' && (listed = grants.invalidIndices(faults))) {
    // The few invalid grants are enumerated directly: O(invalid) per page, not O(grants).
    const order = orderBy === 'desc' ? listed.reverse() : listed;
    let skipped = 0;
    for (const i of order) {
      if (data.length >= limit) break;
      if (since !== undefined && grantCreatedAt(i) < since) continue;
      if (before !== undefined && grantCreatedAt(i) >= before) continue;
      if (provider !== null && providerOf(seed, i) !== provider) continue;
      if (email !== undefined && grantEmail(seed, i) !== email) continue;
      if (skipped++ < offset) continue;
      data.push(grantObject(seed, i, 'invalid'));
    }
  } else if (
    status === 'valid' &&
    orderBy === 'asc' &&
    provider === null &&
    email === undefined &&
    since === undefined &&
    before === undefined &&
    grants.deleted.size === 0 &&
    (listed = grants.invalidIndices(faults))
  ) {
    // Valid grants from an offset without visiting the ones before it: O(limit + log invalid).
    const inv = listed;
    const invalidUpTo = (i: number) => {
      let lo = 0;
      let hi = inv.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (inv[mid]! <= i) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    // The offset-th valid index i satisfies i - invalidUpTo(i) === offset, i not invalid.
    let i = offset;
    for (let c = invalidUpTo(i); offset + c !== i; c = invalidUpTo(i)) i = offset + c;
    let k = invalidUpTo(i);
    for (; i < n && data.length < limit; i++) {
      if (k < inv.length && inv[k] === i) {
        k++;
        continue;
      }
      data.push(grantObject(seed, i, 'valid'));
    }
  } else {
    let skipped = 0;
    for (let k = 0; k < n && data.length < limit; k++) {
      const i = at(k);
      if (grants.deleted.has(i)) continue;
      if (since !== undefined && grantCreatedAt(i) < since) continue;
      if (before !== undefined && grantCreatedAt(i) >= before) continue;
      if (provider !== null && providerOf(seed, i) !== provider) continue;
      const s = grants.status(i, faults);
      if (status !== null && s !== status) continue;
      if (email !== undefined && grantEmail(seed, i) !== email) continue;
      if (skipped++ < offset) continue;
      data.push(grantObject(seed, i, s));
    }
  }
  sendJson(x.res, 200, { request_id: x.requestId, data, limit, offset });
}

async function grantById(ctx: SimContext, x: Exchange, id: string): Promise<void> {
  if (id === 'me')
    return sendNylasError(
      x,
      400,
      'invalid_request_error',
      '/v3/grants/me needs an access token, not an API key',
    );
  const i = ctx.grants.indexOf(id);
  if (i < 0) return sendNylasError(x, 404, 'not_found_error', 'grant not found');
  const method = x.req.method;
  if (method === 'GET') {
    sendJson(x.res, 200, {
      request_id: x.requestId,
      data: grantObject(ctx.seed, i, ctx.grants.status(i, ctx.faults)),
    });
  } else if (method === 'PATCH') {
    const body = await readJson(x.req);
    sendJson(x.res, 200, {
      request_id: x.requestId,
      data: {
        ...grantObject(ctx.seed, i, ctx.grants.status(i, ctx.faults)),
        ...(isRecord(body) ? body : {}),
      },
    });
  } else if (method === 'DELETE') {
    ctx.grants.deleted.add(i);
    ctx.grantDeleted(i);
    sendJson(x.res, 200, { request_id: x.requestId });
  } else {
    sendNylasError(x, 405, 'invalid_request_error', `method ${method} is not allowed here`);
  }
}

/** Routes /v3/grants and /v3/grants/{grant_id}. */
export async function handleGrants(ctx: SimContext, x: Exchange): Promise<void> {
  if (x.parts.length === 2) {
    if (x.req.method !== 'GET')
      return sendNylasError(x, 405, 'invalid_request_error', 'method not allowed');
    return listGrants(ctx, x);
  }
  return grantById(ctx, x, x.parts[2]!);
}

const STATUS_SETTABLE = ['active', 'pause'];

function withSecret(ctx: SimContext, w: WebhookDestination) {
  return { ...webhookView(w), webhook_secret: ctx.webhookSecret };
}

function parseWebhookBody(body: unknown, creating: boolean): Partial<WebhookDestination> {
  if (!isRecord(body)) throw new BadRequest('the request body must be a JSON object');
  const out: Partial<WebhookDestination> = {};
  if (body.trigger_types !== undefined || creating) {
    if (
      !Array.isArray(body.trigger_types) ||
      body.trigger_types.length === 0 ||
      !body.trigger_types.every((t) => typeof t === 'string')
    )
      throw new BadRequest('trigger_types must be a non-empty array of trigger names');
    out.trigger_types = body.trigger_types;
  }
  if (body.webhook_url !== undefined || creating) {
    let url: URL;
    try {
      url = new URL(String(body.webhook_url));
    } catch {
      throw new BadRequest('webhook_url must be an absolute http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new BadRequest('webhook_url must be http(s)');
    out.webhook_url = url.toString();
  }
  if (body.description !== undefined)
    out.description = typeof body.description === 'string' ? body.description : '';
  if (body.notification_email_addresses !== undefined) {
    if (!Array.isArray(body.notification_email_addresses))
      throw new BadRequest('notification_email_addresses must be an array');
    out.notification_email_addresses = body.notification_email_addresses.map(String);
  }
  if (body.compressed_delivery !== undefined)
    out.compressed_delivery = Boolean(body.compressed_delivery);
  if (body.status !== undefined) {
    if (typeof body.status !== 'string' || !STATUS_SETTABLE.includes(body.status))
      throw new BadRequest('status can only be set to active or pause');
    out.status = body.status as 'active' | 'pause';
  }
  return out;
}

/** Routes /v3/webhooks and below. */
export async function handleWebhooks(ctx: SimContext, x: Exchange): Promise<void> {
  const method = x.req.method;
  const [, , a, b] = x.parts;
  const nowSec = Math.floor(ctx.now() / 1000);
  if (a === undefined) {
    if (method === 'GET') {
      return sendJson(x.res, 200, {
        request_id: x.requestId,
        data: [...ctx.webhooks.values()].map(webhookView),
      });
    }
    if (method !== 'POST')
      return sendNylasError(x, 405, 'invalid_request_error', 'method not allowed');
    const fields = parseWebhookBody(await readJson(x.req), true);
    if (!(await ctx.challenge(fields.webhook_url!)))
      return sendNylasError(
        x,
        400,
        'invalid_request_error',
        'Failed to verify challenge: the webhook_url did not answer the challenge with 200 and the exact value within 10 seconds',
      );
    const w: WebhookDestination = {
      id: newWebhookId(),
      description: '',
      notification_email_addresses: [],
      compressed_delivery: false,
      ...(fields as Pick<WebhookDestination, 'trigger_types' | 'webhook_url'>),
      status: 'active',
      status_updated_at: nowSec,
      created_at: nowSec,
      updated_at: nowSec,
      seeded: false,
    };
    ctx.webhooks.set(w.id, w);
    return sendJson(x.res, 200, { request_id: x.requestId, data: withSecret(ctx, w) });
  }
  if (a === 'ip-addresses' && method === 'GET')
    return sendJson(x.res, 200, {
      request_id: x.requestId,
      data: { ip_addresses: ['127.0.0.1'], updated_at: nowSec },
    });
  if ((a === 'send-test-event' || a === 'mock-payload') && method === 'POST') {
    x.req.resume();
    return sendJson(x.res, 200, {
      request_id: x.requestId,
      data: {
        specversion: '1.0',
        type: 'message.created',
        source: '/nylas/simulator',
        id: newWebhookId(),
        time: nowSec,
        data: { object: {} },
      },
    });
  }
  const rotate = a === 'rotate-secret' ? b : b === 'rotate-secret' ? a : undefined;
  const id = rotate ?? a;
  const w = ctx.webhooks.get(id);
  if (!w) return sendNylasError(x, 404, 'not_found_error', 'webhook not found');
  if (rotate !== undefined) {
    if (method !== 'POST')
      return sendNylasError(x, 405, 'invalid_request_error', 'method not allowed');
    x.req.resume();
    // The simulator signs with one secret (SimulatorOptions.webhookSecret), so rotation keeps it.
    return sendJson(x.res, 200, { request_id: x.requestId, data: withSecret(ctx, w) });
  }
  if (b !== undefined) return sendNylasError(x, 404, 'not_found_error', 'not found');
  if (method === 'GET')
    return sendJson(x.res, 200, { request_id: x.requestId, data: webhookView(w) });
  if (method === 'DELETE') {
    ctx.webhooks.delete(id);
    x.req.resume();
    return sendJson(x.res, 200, { request_id: x.requestId, data: { status: 'success' } });
  }
  if (method !== 'PUT')
    return sendNylasError(x, 405, 'invalid_request_error', 'method not allowed');
  const fields = parseWebhookBody(await readJson(x.req), false);
  // Reactivating a destination re-runs the challenge, as Nylas does.
  if (
    fields.status === 'active' &&
    w.status !== 'active' &&
    !w.seeded &&
    !(await ctx.challenge(fields.webhook_url ?? w.webhook_url))
  )
    return sendNylasError(
      x,
      400,
      'invalid_request_error',
      'Failed to verify challenge on reactivation',
    );
  if (fields.status !== undefined && fields.status !== w.status) w.status_updated_at = nowSec;
  Object.assign(w, fields, { updated_at: nowSec });
  return sendJson(x.res, 200, { request_id: x.requestId, data: webhookView(w) });
}
