// The simulator's HTTP surface checked against the shapes of Nylas's API reference, plus its
// application rate limit, v2 auth, status page and control API.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, SCENARIOS, type Simulator } from '../../src/simulator/index.js';

// Tests read arbitrary JSON answers and assert on their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const API_KEY = 'nylas-sim-api-key';
const auth = { authorization: `Bearer ${API_KEY}` };
const basic = (secret: string) => ({
  authorization: `Basic ${Buffer.from(`${secret}:`).toString('base64')}`,
});

async function getJson(url: string, headers: Record<string, string> = auth) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  const body: Json = JSON.parse(text);
  return { status: res.status, headers: res.headers, body };
}

async function send(url: string, method: string, body?: unknown) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json: Json = await res.json();
  return { status: res.status, body: json };
}

describe('v3 grants over 50,000 seeded grants', () => {
  let sim: Simulator;
  beforeAll(async () => {
    // A high limit: this block pages fast on purpose; the limit itself is tested below.
    sim = createSimulator({
      grants: 50_000,
      invalidGrants: 1_234,
      grantsRateLimitPerSecond: 100_000,
    });
    await sim.start();
  });
  afterAll(() => sim.stop());

  it('pages all 50,000 grants by limit/offset with {request_id, data, limit, offset}', async () => {
    const ids = new Set<string>();
    let invalid = 0;
    for (let offset = 0; ; offset += 200) {
      const { status, body } = await getJson(
        `${sim.url}/v3/grants?limit=200&offset=${offset}&order_by=asc`,
      );
      expect(status).toBe(200);
      expect(body).toMatchObject({ limit: 200, offset });
      expect(typeof body.request_id).toBe('string');
      expect(body.next_cursor).toBeUndefined();
      for (const g of body.data) {
        ids.add(g.id);
        if (g.grant_status === 'invalid') invalid++;
      }
      if (body.data.length < 200) break;
    }
    expect(ids.size).toBe(50_000);
    expect(invalid).toBe(1_234);
  });

  it('filters by grant_status and provider and pages the filtered list by offset', async () => {
    const page1 = await getJson(`${sim.url}/v3/grants?grant_status=invalid&limit=200`);
    const page7 = await getJson(`${sim.url}/v3/grants?grant_status=invalid&limit=200&offset=1200`);
    expect(page1.body.data).toHaveLength(200);
    expect(page7.body.data).toHaveLength(34);
    for (const g of [...page1.body.data, ...page7.body.data])
      expect(g.grant_status).toBe('invalid');
    const ms = await getJson(`${sim.url}/v3/grants?provider=microsoft&limit=50`);
    for (const g of ms.body.data) expect(g.provider).toBe('microsoft');
    const one = ms.body.data[0];
    const byEmail = await getJson(`${sim.url}/v3/grants?email=${encodeURIComponent(one.email)}`);
    expect(byEmail.body.data.map((g: { id: string }) => g.id)).toEqual([one.id]);
  });

  it('has every grant field of the spec list schema', async () => {
    const { body } = await getJson(`${sim.url}/v3/grants?limit=1`);
    expect(Object.keys(body.data[0]).sort()).toEqual(
      expect.arrayContaining([
        'id',
        'provider',
        'grant_status',
        'email',
        'name',
        'scope',
        'created_at',
        'updated_at',
        'blocked',
        'settings',
        'email_aliases',
        'provider_user_id',
        'ip',
        'user_agent',
        'state',
      ]),
    );
  });

  it('gzips JSON bodies when the client accepts gzip, and not otherwise', async () => {
    const zipped = await fetch(`${sim.url}/v3/grants?limit=5`, {
      headers: { ...auth, 'accept-encoding': 'gzip' },
    });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(((await zipped.json()) as { data: unknown[] }).data).toHaveLength(5);
    const plain = await fetch(`${sim.url}/v3/grants?limit=5`, {
      headers: { ...auth, 'accept-encoding': 'identity' },
    });
    expect(plain.headers.get('content-encoding')).toBeNull();
    await plain.arrayBuffer();
  });

  it('rejects limit above 200 with a Nylas error body and x-request-id', async () => {
    const { status, body, headers } = await getJson(`${sim.url}/v3/grants?limit=201`);
    expect(status).toBe(400);
    expect(body).toEqual({
      request_id: headers.get('x-request-id'),
      error: { type: 'invalid_request_error', message: expect.stringMatching(/limit/) },
    });
  });

  it('finds grants by id, grant:id and email, and 404s for unknown ones', async () => {
    const id = sim.listGrantIds()[42_000]!;
    const byId = await getJson(`${sim.url}/v3/grants/${id}`);
    expect(byId.body.data.id).toBe(id);
    expect((await getJson(`${sim.url}/v3/grants/grant:${id}`)).body.data.id).toBe(id);
    const email = byId.body.data.email as string;
    expect(
      (await getJson(`${sim.url}/v3/grants/${encodeURIComponent(email)}/calendars`)).status,
    ).toBe(200);
    const missing = await getJson(`${sim.url}/v3/grants/00000000-0000-4000-a000-000000000000`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.type).toBe('not_found_error');
  });
});

describe('sends with an Idempotency-Key', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = createSimulator();
    await sim.start();
  });
  afterAll(() => sim.stop());

  const post = (key: string, subject: string) =>
    fetch(`${sim.url}/v3/grants/${sim.listGrantIds()[0]}/messages/send`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ to: [{ email: 'a@example.com' }], subject }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Json }));

  it('replays the first answer for the same key and body, and refuses the key with another body', async () => {
    const first = await post('key-1', 'hello');
    const again = await post('key-1', 'hello');
    expect(first.status).toBe(200);
    expect(again.body.data.id).toBe(first.body.data.id);
    const other = await post('key-1', 'different');
    expect(other.status).toBe(409);
    expect(other.body.error.type).toBe('api.invalid_idempotent_request');
    expect((await post('key-2', 'hello')).body.data.id).not.toBe(first.body.data.id);
    expect((await post('k'.repeat(257), 'hello')).body.error.type).toBe(
      'api.invalid_idempotency_key',
    );
  });
});

describe('the Grants API application rate limit', () => {
  let sim: Simulator;
  afterEach(() => sim.stop());

  it('answers 429 nylas_rate_limit_exceeded with Retry-After past 50 requests in a second', async () => {
    let t = 1_000_000;
    sim = createSimulator({ now: () => t });
    await sim.start();
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++)
      statuses.push((await fetch(`${sim.url}/v3/grants`, { headers: auth })).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    const limited = await getJson(`${sim.url}/v3/grants`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body.error).toEqual({
      type: 'nylas_rate_limit_exceeded',
      message: expect.any(String),
    });
    expect(sim.stats.rateLimited).toBe(11);
    expect(sim.stats.grantsRequests).toBe(61);
    // Grant-scoped data routes have their own (per-grant) limit, not this one.
    expect((await getJson(`${sim.url}/v3/grants/${sim.listGrantIds()[0]}/messages`)).status).toBe(
      200,
    );
    t += 1_001;
    expect((await getJson(`${sim.url}/v3/grants`)).status).toBe(200);
  });

  it('limits concurrent bursts on the real clock too', async () => {
    sim = createSimulator();
    await sim.start();
    // Warm up first, and send 200 at once: the limit is 50 in a sliding second, so at least 30
    // are refused unless the burst takes more than about three seconds to arrive.
    await fetch(`${sim.url}/v3/webhooks`, { headers: auth }).then((r) => r.arrayBuffer());
    const statuses = await Promise.all(
      Array.from({ length: 200 }, () =>
        fetch(`${sim.url}/v3/webhooks`, { headers: auth }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(30);
  });
});

describe('v2 accounts', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = createSimulator({ accounts: 12 });
    await sim.start();
  });
  afterAll(() => sim.stop());

  it('needs Basic auth with the client secret', async () => {
    const url = `${sim.url}/a/sim-client-id/accounts`;
    expect((await getJson(url, basic('wrong'))).status).toBe(401);
    expect((await getJson(url, {})).body).toEqual({
      message: expect.any(String),
      type: expect.any(String),
    });
    const ok = await getJson(url, basic('sim-client-secret'));
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveLength(12);
    expect(Object.keys(ok.body[0]).sort()).toEqual([
      'account_id',
      'authentication_type',
      'billing_state',
      'email',
      'id',
      'metadata',
      'namespace_id',
      'provider',
      'sync_state',
      'trial',
    ]);
    expect(
      (await getJson(`${url}?limit=5&offset=10`, basic('sim-client-secret'))).body,
    ).toHaveLength(2);
    const bad = await getJson(`${url}?limit=0`, basic('sim-client-secret'));
    expect(bad).toMatchObject({
      status: 400,
      body: { type: 'invalid_request_error', message: expect.stringMatching(/limit/) },
    });
  });

  it('restarts a stopped account with downgrade then upgrade, and records both', async () => {
    const id = sim.listAccountIds()[3]!;
    const h = basic('sim-client-secret');
    sim.setAccountSyncState(id, 'stopped');
    const stopped = await getJson(`${sim.url}/a/sim-client-id/accounts?sync_state=stopped`, h);
    expect(stopped.body.map((a: { id: string }) => a.id)).toEqual([id]);
    for (const action of ['downgrade', 'upgrade'])
      expect(
        (
          await fetch(`${sim.url}/a/sim-client-id/accounts/${id}/${action}`, {
            method: 'POST',
            headers: h,
          })
        ).status,
      ).toBe(200);
    expect((await getJson(`${sim.url}/a/sim-client-id/accounts/${id}`, h)).body).toMatchObject({
      sync_state: 'running',
      billing_state: 'paid',
    });
    expect(sim.stats.accountRestarts.map((r) => [r.accountId, r.action])).toEqual([
      [id, 'downgrade'],
      [id, 'upgrade'],
    ]);
  });

  it('lists v2 webhooks', async () => {
    const { body } = await getJson(
      `${sim.url}/a/sim-client-id/webhooks`,
      basic('sim-client-secret'),
    );
    expect(body[0]).toMatchObject({
      application_id: 'sim-client-id',
      state: 'active',
      version: '2.0',
    });
  });
});

describe('the status page', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = createSimulator();
    await sim.start();
  });
  afterAll(() => sim.stop());

  it('serves Statuspage summary, status, components and unresolved incidents', async () => {
    const summary = (await getJson(`${sim.url}/api/v2/summary.json`, {})).body;
    expect(summary.status).toEqual({ indicator: 'none', description: 'All Systems Operational' });
    expect(summary.page).toMatchObject({
      id: expect.any(String),
      name: expect.any(String),
      url: expect.any(String),
      time_zone: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(summary.components.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['API', 'Webhooks', 'Email Sync', 'Calendar Sync']),
    );
    expect(summary.components[0]).toMatchObject({
      status: 'operational',
      group: false,
      only_show_if_degraded: false,
      page_id: summary.page.id,
    });
    expect(summary.incidents).toEqual([]);
    expect(summary.scheduled_maintenances).toEqual([]);

    const id = sim.openIncident({ name: 'Delayed webhooks', impact: 'critical' });
    sim.setComponentStatus('Webhooks', 'major_outage');
    sim.startMaintenance('DB upgrade');
    const during = (await getJson(`${sim.url}/api/v2/summary.json`, {})).body;
    expect(during.status.indicator).toBe('critical');
    expect(during.incidents[0]).toMatchObject({
      id,
      name: 'Delayed webhooks',
      impact: 'critical',
      status: 'investigating',
      resolved_at: null,
    });
    expect(during.scheduled_maintenances[0]).toMatchObject({
      name: 'DB upgrade',
      status: 'in_progress',
    });
    expect(
      (await getJson(`${sim.url}/api/v2/incidents/unresolved.json`, {})).body.incidents,
    ).toHaveLength(1);
    expect((await getJson(`${sim.url}/api/v2/status.json`, {})).body.status.indicator).toBe(
      'critical',
    );
    expect(
      (await getJson(`${sim.url}/api/v2/components.json`, {})).body.components.find(
        (c: { name: string }) => c.name === 'Webhooks',
      ).status,
    ).toBe('major_outage');

    sim.resolveIncident(id);
    sim.setComponentStatus('Webhooks', 'operational');
    sim.endMaintenance();
    sim.setStatusIndicator('minor');
    expect((await getJson(`${sim.url}/api/v2/status.json`, {})).body.status.indicator).toBe(
      'minor',
    );
    sim.setStatusIndicator(null);
    expect((await getJson(`${sim.url}/api/v2/status.json`, {})).body.status.indicator).toBe('none');
  });

  it('answers 500 for the next statusPageFailures requests, then recovers', async () => {
    sim.setFaults({ statusPageFailures: 2 });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await fetch(`${sim.url}/api/v2/summary.json`)).status);
    expect(codes).toEqual([500, 500, 200]);
  });
});

describe('webhook destinations and signed deliveries', () => {
  let sim: Simulator;
  let endpoint: Server;
  let endpointUrl: string;
  const received: Array<{ body: Buffer; signature: string | undefined }> = [];
  let answerChallenge = true;

  beforeAll(async () => {
    sim = createSimulator({ webhookSecret: 'whsec-test' });
    await sim.start();
    endpoint = createServer((req, res) => {
      const challenge = new URL(req.url!, 'http://x').searchParams.get('challenge');
      if (req.method === 'GET') return void res.end(answerChallenge ? challenge : 'wrong');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          body: Buffer.concat(chunks),
          signature: req.headers['x-nylas-signature'] as string | undefined,
        });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
    endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await sim.stop();
    endpoint.closeAllConnections();
    await new Promise((r) => endpoint.close(r));
  });

  it('creates a destination only after the challenge, and delivers signed CloudEvents that verify with HMAC-SHA256', async () => {
    answerChallenge = false;
    const refused = await fetch(`${sim.url}/v3/webhooks`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ trigger_types: ['message.created'], webhook_url: endpointUrl }),
    });
    expect(refused.status).toBe(400);
    answerChallenge = true;
    const created = await fetch(`${sim.url}/v3/webhooks`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        trigger_types: ['message.created'],
        webhook_url: endpointUrl,
        description: 'test',
      }),
    });
    const body = (await created.json()) as {
      data: { id: string; status: string; webhook_secret: string };
    };
    expect(created.status).toBe(200);
    expect(body.data).toMatchObject({ status: 'active', webhook_secret: 'whsec-test' });

    const summary = await send(`${sim.url}/_simulator/webhooks/deliver`, 'POST', {
      trigger: 'message.created',
      count: 3,
    });
    expect(summary.body).toEqual({ destinations: 1, sent: 3, delivered: 3, failed: 0 });
    expect(received).toHaveLength(3);
    for (const r of received) {
      expect(r.signature).toBe(createHmac('sha256', 'whsec-test').update(r.body).digest('hex'));
      expect(JSON.parse(r.body.toString('utf8'))).toMatchObject({
        specversion: '1.0',
        type: 'message.created',
        webhook_delivery_attempt: 1,
      });
    }
    // Nylas stops sending to paused and failed destinations, and the list shows their status.
    sim.setWebhookStatus(body.data.id, 'pause');
    expect(
      (await send(`${sim.url}/_simulator/webhooks/deliver`, 'POST', { trigger: 'message.created' }))
        .body.sent,
    ).toBe(0);
    const list = await getJson(`${sim.url}/v3/webhooks`);
    expect(list.body.data.find((w: { id: string }) => w.id === body.data.id).status).toBe('pause');
    expect(JSON.stringify(list.body)).not.toContain('whsec-test');
  });
});

describe('the control API', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = createSimulator({ grants: 100 });
    await sim.start();
  });
  afterAll(() => sim.stop());

  it('switches scenarios and shows them in /_simulator/state', async () => {
    for (const name of SCENARIOS) {
      expect((await send(`${sim.url}/_simulator/scenario`, 'POST', { name })).status).toBe(200);
      expect((await getJson(`${sim.url}/_simulator/state`, {})).body.scenario).toBe(name);
    }
    await send(`${sim.url}/_simulator/scenario`, 'POST', { name: 'invalid-grants' });
    const state = (await getJson(`${sim.url}/_simulator/state`, {})).body;
    expect(state.grants.invalid).toBeGreaterThan(20);
    await send(`${sim.url}/_simulator/scenario`, 'POST', { name: 'healthy' });
    expect((await getJson(`${sim.url}/_simulator/state`, {})).body.grants.invalid).toBe(0);
  });

  it('answers 400 with a clear message for bad input', async () => {
    const unknown = await send(`${sim.url}/_simulator/scenario`, 'POST', { name: 'meltdown' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toContain('valid scenarios: healthy, outage');
    expect((await send(`${sim.url}/_simulator/scenario`, 'POST', '{not json')).body.error).toMatch(
      /JSON/,
    );
    const badFault = await send(`${sim.url}/_simulator/faults`, 'PATCH', { resetRate: 2 });
    expect(badFault).toEqual({
      status: 400,
      body: { error: 'resetRate must be a number from 0 to 1' },
    });
    expect(
      (await send(`${sim.url}/_simulator/faults`, 'PATCH', { explode: true })).body.error,
    ).toMatch(/unknown fault "explode"/);
    expect(
      (await send(`${sim.url}/_simulator/grants/nope/status`, 'POST', { status: 'invalid' }))
        .status,
    ).toBe(400);
    expect(
      (await send(`${sim.url}/_simulator/incidents`, 'POST', { name: 'x', impact: 'apocalyptic' }))
        .body.error,
    ).toMatch(/impact must be one of/);
  });

  it('applies faults, grant statuses and incidents sent over HTTP', async () => {
    const patch = {
      errors: [{ rate: 1, status: 503, type: 'api.internal_error', families: ['messages'] }],
    };
    expect((await send(`${sim.url}/_simulator/faults`, 'PATCH', patch)).status).toBe(200);
    const g = sim.listGrantIds()[0]!;
    const failed = await getJson(`${sim.url}/v3/grants/${g}/messages`);
    expect(failed.status).toBe(503);
    expect(failed.body.error.type).toBe('api.internal_error');
    expect((await getJson(`${sim.url}/v3/grants/${g}/threads`)).status).toBe(200);
    await send(`${sim.url}/_simulator/faults`, 'PATCH', { errors: [] });

    await send(`${sim.url}/_simulator/grants/${g}/status`, 'POST', { status: 'invalid' });
    expect((await getJson(`${sim.url}/v3/grants/${g}`)).body.data.grant_status).toBe('invalid');
    const inc = await send(`${sim.url}/_simulator/incidents`, 'POST', {
      name: 'Outage',
      impact: 'major',
    });
    expect(inc.status).toBe(201);
    expect((await getJson(`${sim.url}/api/v2/status.json`, {})).body.status.indicator).toBe(
      'major',
    );
    expect((await send(`${sim.url}/_simulator/incidents/${inc.body.id}`, 'DELETE')).status).toBe(
      200,
    );
    expect((await getJson(`${sim.url}/api/v2/status.json`, {})).body.status.indicator).toBe('none');
  });

  it('resets connections when told to', async () => {
    sim.setFaults({ resetRate: 1 });
    try {
      await expect(fetch(`${sim.url}/v3/grants`, { headers: auth })).rejects.toThrow();
    } finally {
      sim.setFaults({ resetRate: 0 });
    }
  });
});
