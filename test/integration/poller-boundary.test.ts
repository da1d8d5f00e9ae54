// The pollers' HTTP boundary against small local fixture servers: what is sent (auth, paging),
// how odd answers are parsed (zod at the boundary), and that failures keep the last good data.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/index.js';
import { createNylasClient, NylasCallError, parseRetryAfter } from '../../src/nylas/index.js';
import { createPollers, type Pollers } from '../../src/pollers/index.js';
import { parseMetrics, series, total } from '../helpers/metrics.js';
import { TEST_ENV } from '../helpers/sidecar.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
const stoppers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stoppers.splice(0)) await s();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

async function fixture(handler: Handler): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function pollersFor(url: string, env: Record<string, string> = {}) {
  const config = loadConfig({
    env: {
      ...TEST_ENV,
      NYLAS_API_URI: url,
      NYLAS_STATUS_PAGE_URL: url,
      NYLAS_API_KEY: 'fixture-key',
      ...env,
    },
  });
  const metrics = createMetrics({ latencyBuckets: [1], version: 't', defaultMetrics: false });
  const pollers: Pollers = createPollers({
    config,
    metrics,
    logger: createLogger({ level: 'silent' }),
    tracer: trace.getTracer('t'),
    requestsPerSecond: 1000,
  });
  stoppers.push(() => pollers.stop());
  return { pollers, metrics, scrape: async () => parseMetrics(await metrics.registry.metrics()) };
}

describe('Nylas client boundary', () => {
  it('sends Bearer auth and limit/offset paging (oldest first) to GET /v3/grants', async () => {
    const f = await fixture((req, res) => json(res, 200, { request_id: 'r', data: [] }));
    const client = createNylasClient({ apiUri: new URL(f.url), apiKey: 'k-123', now: Date.now });
    await client.listGrants({ limit: 200, offset: 400, signal: AbortSignal.timeout(5000) });
    const req = f.seen[0]!;
    expect(req.headers.authorization).toBe('Bearer k-123');
    const u = new URL(req.url!, 'http://x');
    expect(u.pathname).toBe('/v3/grants');
    expect(Object.fromEntries(u.searchParams)).toEqual({
      limit: '200',
      offset: '400',
      sort_by: 'created_at',
      order_by: 'asc',
    });
  });

  it('sends Basic client_secret: to the v2 accounts list under /a/{client_id}', async () => {
    const f = await fixture((_req, res) => json(res, 200, []));
    const client = createNylasClient({
      apiUri: new URL(`${f.url}/prefix`),
      clientId: 'cid',
      clientSecret: 'shh',
      now: Date.now,
    });
    await client.listAccounts({ limit: 100, offset: 0, signal: AbortSignal.timeout(5000) });
    expect(f.seen[0]!.url).toBe('/prefix/a/cid/accounts?limit=100&offset=0');
    expect(f.seen[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from('shh:').toString('base64')}`,
    );
  });

  it('turns a 429 into a rate-limited error carrying Retry-After and the Nylas error type', async () => {
    const f = await fixture((_req, res) =>
      json(
        res,
        429,
        { request_id: 'rid-9', error: { type: 'nylas_rate_limit_exceeded', message: 'slow down' } },
        { 'retry-after': '7' },
      ),
    );
    const client = createNylasClient({ apiUri: new URL(f.url), apiKey: 'k', now: Date.now });
    const err = await client.listWebhooks(AbortSignal.timeout(5000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NylasCallError);
    expect(err).toMatchObject({
      code: 'ERR_NYLAS_RATE_LIMITED',
      status: 429,
      retryAfterMs: 7000,
      errorType: 'nylas_rate_limit_exceeded',
      requestId: 'rid-9',
    });
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('rejects a body of the wrong shape without echoing its values', async () => {
    const f = await fixture((_req, res) =>
      json(res, 200, { data: [{ email: 'person@example.com', provider: 'google' }] }),
    );
    const client = createNylasClient({ apiUri: new URL(f.url), apiKey: 'k', now: Date.now });
    const err = await client
      .listGrants({ limit: 200, offset: 0, signal: AbortSignal.timeout(5000) })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_NYLAS_BAD_RESPONSE' });
    expect(String((err as Error).message)).toContain('data.0.id');
    expect(String((err as Error).message)).not.toContain('person@example.com');
  });

  it('classifies non-JSON bodies and refused connections with stable codes', async () => {
    const f = await fixture((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>captive portal</html>');
    });
    const client = createNylasClient({ apiUri: new URL(f.url), apiKey: 'k', now: Date.now });
    await expect(client.listWebhooks(AbortSignal.timeout(5000))).rejects.toMatchObject({
      code: 'ERR_NYLAS_BAD_RESPONSE',
    });
    const dead = createNylasClient({
      apiUri: new URL('http://127.0.0.1:1'),
      apiKey: 'k',
      now: Date.now,
    });
    await expect(dead.listWebhooks(AbortSignal.timeout(5000))).rejects.toMatchObject({
      code: 'ERR_NYLAS_TRANSPORT',
    });
  });
});

describe('grants poller boundary', () => {
  /** GET /v3/grants over `all`, honouring grant_status, provider, limit and offset, as Nylas does. */
  const listing =
    (all: () => Array<Record<string, unknown>>) => (req: { url?: string }, res: ServerResponse) => {
      const q = new URL(req.url!, 'http://x').searchParams;
      const offset = Number(q.get('offset'));
      const limit = Number(q.get('limit'));
      const data = all()
        .filter((g) => !q.get('grant_status') || g.grant_status === q.get('grant_status'))
        .filter((g) => !q.get('provider') || g.provider === q.get('provider'))
        .slice(offset, offset + limit);
      json(res, 200, { request_id: 'r', data, limit, offset });
    };

  it('keeps no email from the upstream JSON, and stops paging at a short page', async () => {
    const grant = (i: number, status: string) => ({
      id: `g-${i}`,
      email: `user${i}@example.com`,
      name: 'Some Person',
      provider: i % 2 ? 'google' : 'brand-new-provider',
      grant_status: status,
      access_token: 'tok-secret',
    });
    const grants = Array.from({ length: 201 }, (_, i) =>
      grant(i, i < 3 || i === 200 ? 'invalid' : 'valid'),
    );
    const f = await fixture(listing(() => grants));
    const { pollers, scrape } = pollersFor(f.url);
    expect(await pollers.runOnce('grants')).toBe('success');
    // 4 invalid grants: one short page, and only the invalid ones asked for.
    expect(
      f.seen.map((r) => new URL(r.url ?? '/', 'http://x').searchParams.get('grant_status')),
    ).toEqual(['invalid']);
    expect(await pollers.runOnce('grants_census')).toBe('success');
    const snap = pollers.snapshot().grants!;
    expect(snap.total).toBe(201);
    expect(snap.invalidTotal).toBe(4);
    const text = JSON.stringify(snap);
    expect(text).not.toContain('@');
    expect(text).not.toContain('tok-secret');
    const s = await scrape();
    // An unknown provider becomes `other` instead of a new label value: 98 valid, 3 invalid.
    expect(total(s, 'nylas_grants', { provider: 'other' })).toBe(101);
    expect(total(s, 'nylas_grants', { provider: 'google' })).toBe(100);
    expect(
      series(s, 'nylas_grant_invalid')
        .map((x) => x.labels.provider)
        .sort(),
    ).toEqual(['google', 'other', 'other', 'other']);
  });

  it('leaves the last published grant gauges in place when a later poll fails half-way', async () => {
    let fail = false;
    const grants = Array.from({ length: 210 }, (_, i) => ({
      id: `g-${i}`,
      provider: 'google',
      grant_status: i < 205 ? 'invalid' : 'valid',
    }));
    const ok = listing(() => grants);
    const f = await fixture((req, res) => {
      const offset = Number(new URL(req.url!, 'http://x').searchParams.get('offset'));
      if (fail && offset > 0) return json(res, 503, { error: { type: 'api.internal_error' } });
      ok(req, res);
    });
    const { pollers, scrape } = pollersFor(f.url, { SIDECAR_MAX_GRANT_SERIES: '300' });
    expect(await pollers.runOnce('grants')).toBe('success');
    fail = true;
    expect(await pollers.runOnce('grants')).toBe('error');
    const s = await scrape();
    expect(total(s, 'nylas_grants', { status: 'invalid' })).toBe(205);
    expect(series(s, 'nylas_grant_invalid')).toHaveLength(205);
    expect(total(s, 'nylas_poller_runs_total', { poller: 'grants', result: 'error' })).toBe(1);
  });
});

describe('status page poller boundary', () => {
  it('maps unknown status values to unknown instead of failing the poll', async () => {
    const f = await fixture((_req, res) =>
      json(res, 200, {
        page: { name: 'Nylas' },
        status: { indicator: 'apocalyptic', description: 'Something new' },
        components: [
          { id: 'c1', name: 'API', status: 'operational' },
          { id: 'c2', name: 'Email Sync', status: 'sort_of_working' },
          { id: 'g', name: 'A group', status: 'operational', group: true },
          { id: 'c3', status: 'operational' },
        ],
        incidents: [
          { id: 'i1', name: 'Open one', status: 'identified', impact: 'catastrophic' },
          { id: 'i2', name: 'Done', status: 'resolved', impact: 'major' },
          { name: 'no id' },
        ],
        scheduled_maintenances: [
          { id: 'm1', name: 'DB upgrade', status: 'in_progress' },
          { id: 'm2', name: 'Later', status: 'scheduled' },
        ],
      }),
    );
    const { pollers, scrape } = pollersFor(f.url);
    expect(await pollers.runOnce('status_page')).toBe('success');
    expect(f.seen[0]!.url).toBe('/api/v2/summary.json');
    const s = await scrape();
    expect(total(s, 'nylas_status_page_indicator')).toBe(-1);
    expect(
      total(s, 'nylas_status_page_component_status', {
        component: 'Email Sync',
        status: 'unknown',
      }),
    ).toBe(1);
    expect(
      total(s, 'nylas_status_page_component_status', { component: 'API', status: 'operational' }),
    ).toBe(1);
    expect(series(s, 'nylas_status_page_component_status', { component: 'A group' })).toHaveLength(
      0,
    );
    expect(series(s, 'nylas_status_page_component_status', { component: 'API' })).toHaveLength(6);
    expect(series(s, 'nylas_status_page_incident_info')).toEqual([
      {
        name: 'nylas_status_page_incident_info',
        labels: { incident_id: 'i1', impact: 'unknown', status: 'identified', region: 'all' },
        value: 1,
      },
    ]);
    expect(total(s, 'nylas_status_page_incidents', { impact: 'major' })).toBe(0);
    expect(total(s, 'nylas_status_page_incidents', { impact: 'unknown' })).toBe(1);
    expect(total(s, 'nylas_status_page_maintenance_active')).toBe(1);
  });

  it('treats an HTML answer as a failed fetch and keeps the last snapshot', async () => {
    let html = false;
    const f = await fixture((_req, res) => {
      if (html) {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>maintenance</html>');
      }
      json(res, 200, {
        status: { indicator: 'minor', description: 'Minor' },
        components: [{ name: 'API', status: 'degraded_performance' }],
        incidents: [{ id: 'i1', name: 'Slow', status: 'investigating', impact: 'minor' }],
      });
    });
    const { pollers, scrape } = pollersFor(f.url);
    await pollers.runOnce('status_page');
    const before = await scrape();
    html = true;
    expect(await pollers.runOnce('status_page')).toBe('error');
    const after = await scrape();
    for (const name of [
      'nylas_status_page_indicator',
      'nylas_status_page_component_status',
      'nylas_status_page_incident_info',
      'nylas_status_page_incidents',
    ])
      expect(series(after, name)).toEqual(series(before, name));
    expect(pollers.snapshot().pollers.find((p) => p.name === 'status_page')).toMatchObject({
      lastResult: 'error',
      lastErrorCode: 'ERR_NYLAS_BAD_RESPONSE',
    });
    expect(pollers.snapshot().statusPage!.incidents[0]!.id).toBe('i1');
  });
});

describe('webhooks poller boundary', () => {
  it('publishes the host only and maps an unknown status to unknown', async () => {
    const f = await fixture((req, res) => {
      if (req.url!.startsWith('/v3/webhooks'))
        return json(res, 200, {
          data: [
            {
              id: 'w1',
              description: 'Orders',
              webhook_url: 'https://hooks.example.com/path/with?token=abc',
              status: 'exploded',
              webhook_secret: 'never-read',
              trigger_types: ['message.created'],
            },
          ],
        });
      if (req.url === '/a/cid/webhooks')
        return json(res, 200, [
          {
            id: 'v2w',
            callback_url: 'https://old.example.com/cb',
            state: 'inactive',
            triggers: [],
          },
        ]);
      json(res, 404, {});
    });
    const { pollers, scrape } = pollersFor(f.url, {
      NYLAS_CLIENT_ID: 'cid',
      NYLAS_CLIENT_SECRET: 's',
    });
    expect(await pollers.runOnce('webhooks')).toBe('success');
    const s = await scrape();
    expect(series(s, 'nylas_webhook_info', { webhook_id: 'w1' })[0]!.labels).toEqual({
      webhook_id: 'w1',
      description: 'Orders',
      url_host: 'hooks.example.com',
    });
    expect(total(s, 'nylas_webhook_status', { webhook_id: 'w1', status: 'unknown' })).toBe(1);
    expect(total(s, 'nylas_webhook_status', { webhook_id: 'v2w', status: 'pause' })).toBe(1);
    expect(JSON.stringify(pollers.snapshot().webhooks)).not.toMatch(/never-read|token=abc/);
  });

  it('treats a host without the v2 API (404) as having no v2 destinations', async () => {
    const f = await fixture((req, res) =>
      req.url!.startsWith('/v3/webhooks') ? json(res, 200, { data: [] }) : json(res, 404, {}),
    );
    const { pollers } = pollersFor(f.url, { NYLAS_CLIENT_ID: 'cid', NYLAS_CLIENT_SECRET: 's' });
    expect(await pollers.runOnce('webhooks')).toBe('success');
    expect(pollers.snapshot().webhooks!.destinations).toEqual([]);
  });
});

describe('pollers without credentials', () => {
  it('reports grants, webhooks and accounts as disabled when no API key or v2 credentials are set', async () => {
    const config = loadConfig({
      env: {
        ...TEST_ENV,
        NYLAS_API_KEY: '',
        SIDECAR_DEMO: '1',
        SIDECAR_POLL_GRANTS: '*/5 * * * *',
      },
    });
    const metrics = createMetrics({ latencyBuckets: [1], version: 't', defaultMetrics: false });
    const pollers = createPollers({
      config,
      metrics,
      logger: createLogger({ level: 'silent' }),
      tracer: trace.getTracer('t'),
    });
    stoppers.push(() => pollers.stop());
    expect(await pollers.runOnce('grants')).toBe('disabled');
    expect(await pollers.runOnce('accounts')).toBe('disabled');
    const states = Object.fromEntries(pollers.snapshot().pollers.map((p) => [p.name, p]));
    expect(states.grants).toMatchObject({
      enabled: false,
      disabledReason: 'NYLAS_API_KEY is not set',
    });
    expect(states.accounts!.enabled).toBe(false);
  });
});

describe('scheduling', () => {
  it('runs a poller on its node-cron schedule after the first run at start, and stops cleanly', async () => {
    const f = await fixture((_req, res) =>
      json(res, 200, { status: { indicator: 'none', description: 'ok' }, components: [] }),
    );
    const { pollers, scrape } = pollersFor(f.url, { SIDECAR_POLL_STATUS_PAGE: '* * * * * *' });
    pollers.start();
    await expect
      .poll(
        async () => total(await scrape(), 'nylas_poller_runs_total', { poller: 'status_page' }),
        {
          timeout: 10_000,
          interval: 200,
        },
      )
      .toBeGreaterThanOrEqual(3);
    await pollers.stop();
    const runs = f.seen.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(f.seen.length).toBe(runs);
  });
});

describe('accounts poller boundary', () => {
  it('never restarts an account that was cancelled on purpose', async () => {
    const actions: string[] = [];
    const f = await fixture((req, res) => {
      if (req.method === 'POST') {
        actions.push(req.url!);
        return json(res, 200, { success: true });
      }
      json(res, 200, [
        {
          id: 'a-cancelled',
          provider: 'gmail',
          sync_state: 'stopped',
          billing_state: 'cancelled',
          email_address: 'x@example.com',
        },
        { id: 'a-paid', provider: 'gmail', sync_state: 'sync-error', billing_state: 'paid' },
        { id: 'a-ok', provider: 'gmail', sync_state: 'running', billing_state: 'paid' },
        {
          id: 'a-invalid',
          provider: 'gmail',
          sync_state: 'invalid-credentials',
          billing_state: 'paid',
        },
      ]);
    });
    const { pollers, scrape } = pollersFor(f.url, {
      NYLAS_CLIENT_ID: 'cid',
      NYLAS_CLIENT_SECRET: 's',
      SIDECAR_RESTART_STOPPED_ACCOUNTS: 'true',
    });
    expect(await pollers.runOnce('accounts')).toBe('success');
    expect(actions).toEqual(['/a/cid/accounts/a-paid/downgrade', '/a/cid/accounts/a-paid/upgrade']);
    const s = await scrape();
    expect(
      series(s, 'nylas_account_unhealthy')
        .map((x) => x.labels.account_id)
        .sort(),
    ).toEqual(['a-cancelled', 'a-invalid', 'a-paid']);
    expect(total(s, 'nylas_account_sync_restarts_total', { result: 'success' })).toBe(1);
  });

  it('counts a failed restart as an error without failing the poll', async () => {
    const f = await fixture((req, res) => {
      if (req.method === 'POST') return json(res, 500, { message: 'nope', type: 'api_error' });
      json(res, 200, [
        { id: 'a1', provider: 'gmail', sync_state: 'stopped', billing_state: 'paid' },
      ]);
    });
    const { pollers, scrape } = pollersFor(f.url, {
      NYLAS_CLIENT_ID: 'cid',
      NYLAS_CLIENT_SECRET: 's',
      SIDECAR_RESTART_STOPPED_ACCOUNTS: 'true',
    });
    expect(await pollers.runOnce('accounts')).toBe('success');
    const s = await scrape();
    expect(total(s, 'nylas_account_sync_restarts_total', { result: 'error' })).toBe(1);
    expect(pollers.snapshot().accounts!.recentRestarts).toEqual([
      expect.objectContaining({ accountId: 'a1', result: 'error' }),
    ]);
  });
});
