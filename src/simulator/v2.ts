// API v2 application routes: /a/{client_id}/accounts (Basic auth with the client secret),
// downgrade/upgrade, and /a/{client_id}/webhooks.
import { timingSafeEqual } from 'node:crypto';
import type { SimContext } from './context.js';
import type { Exchange } from './http.js';
import { parseLimit, parseOffset, sendJson, sendV2Error } from './http.js';
import { hash32, hex } from './random.js';

function basicOk(ctx: SimContext, header: string | undefined): boolean {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const got = Buffer.from(Buffer.from(m[1]!, 'base64').toString('utf8'));
  const want = Buffer.from(`${ctx.clientSecret}:`);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Routes /a/{client_id}/...; answers v2-shaped errors. */
export function handleV2(ctx: SimContext, x: Exchange): void {
  const [, clientId, resource, id, action] = x.parts;
  if (!basicOk(ctx, x.req.headers.authorization))
    return sendV2Error(x, 401, 'api_error', 'Could not verify access credential.');
  if (clientId !== ctx.clientId)
    return sendV2Error(
      x,
      404,
      'invalid_request_error',
      `No application found for client_id ${clientId}`,
    );
  const method = x.req.method;
  if (resource === 'accounts') {
    if (id === undefined) {
      if (method !== 'GET')
        return sendV2Error(x, 405, 'invalid_request_error', 'method not allowed');
      const q = x.url.searchParams;
      // v2 pages by limit/offset with a larger page than v3 allows.
      const limit = parseLimit(x.url, 100, 1000);
      const offset = parseOffset(x.url);
      const filters = ['sync_state', 'billing_state', 'provider', 'email'] as const;
      const rows = ctx.accounts.list
        .map((a) => ctx.accounts.view(a, ctx.faults))
        .filter((a) => filters.every((f) => q.get(f) === null || a[f] === q.get(f)));
      return sendJson(x.res, 200, rows.slice(offset, offset + limit));
    }
    const account = ctx.accounts.find(id);
    if (!account)
      return sendV2Error(x, 404, 'invalid_request_error', `Couldn't find account ${id}`);
    if (action === undefined) {
      if (method === 'GET') return sendJson(x.res, 200, ctx.accounts.view(account, ctx.faults));
      return sendV2Error(x, 405, 'invalid_request_error', 'method not allowed');
    }
    if ((action === 'downgrade' || action === 'upgrade') && method === 'POST') {
      x.req.resume();
      ctx.stats.accountRestarts.push({ accountId: id, action, at: ctx.now() });
      if (action === 'downgrade') {
        ctx.accounts.downgraded.add(id);
        ctx.accounts.overrides.set(id, 'stopped');
      } else {
        // Upgrading a downgraded account restarts its sync: that is Nylas's documented fix for a
        // stopped account (downgrade, then upgrade).
        if (ctx.accounts.downgraded.delete(id)) ctx.accounts.overrides.set(id, 'running');
      }
      return sendJson(x.res, 200, { success: true });
    }
    return sendV2Error(x, 404, 'invalid_request_error', 'not found');
  }
  if (resource === 'webhooks' && id === undefined && method === 'GET') {
    const triggers = [
      [
        'account.connected',
        'account.running',
        'account.stopped',
        'account.invalid',
        'account.sync_error',
      ],
      ['message.created', 'thread.replied'],
    ];
    return sendJson(
      x.res,
      200,
      triggers.map((t, k) => ({
        id: hex(hash32(ctx.seed, 90, k)) + hex(hash32(ctx.seed, 91, k)),
        application_id: ctx.clientId,
        callback_url: `https://v2-hooks.example.com/nylas/${k}`,
        state: 'active',
        triggers: t,
        version: '2.0',
      })),
    );
  }
  return sendV2Error(x, 404, 'invalid_request_error', 'not found');
}
