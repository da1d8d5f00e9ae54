// The official nylas SDK against the simulator: what works against Nylas must work unchanged here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NylasApiError } from 'nylas';
import { Nylas, type NylasClient } from '../../src/demo/nylas-sdk.js';
import {
  createSimulator,
  LARGE_ATTACHMENT_SIZE,
  PER_GRANT,
  type Simulator,
} from '../../src/simulator/index.js';

const API_KEY = 'nylas-sim-api-key';

describe('the nylas SDK against the simulator', () => {
  let sim: Simulator;
  let nylas: NylasClient;
  let grant: string;
  let googleGrant: string;

  beforeAll(async () => {
    sim = createSimulator({ grants: 40, seed: 7 });
    const url = await sim.start();
    nylas = new Nylas({ apiKey: API_KEY, apiUri: url });
    const ids = sim.listGrantIds();
    grant = ids[0]!;
    const all = await nylas.grants.list({ queryParams: { limit: 40 } });
    googleGrant = all.data.find((g) => g.provider === 'google')!.id;
  });
  afterAll(() => sim.stop());

  it('follows next_cursor through every page of messages with the list iterator', async () => {
    const seen = new Set<string>();
    let pages = 0;
    for await (const page of nylas.messages.list({
      identifier: grant,
      queryParams: { limit: 50 },
    })) {
      pages++;
      expect(page.requestId).toMatch(/^[0-9a-f-]{36}$/);
      for (const m of page.data) seen.add(m.id);
    }
    expect(pages).toBe(Math.ceil(PER_GRANT.messages / 50));
    expect(seen.size).toBe(PER_GRANT.messages);
  });

  it('pages threads, contacts and events (with calendar_id) the same way', async () => {
    let threads = 0;
    for await (const p of nylas.threads.list({ identifier: grant, queryParams: { limit: 15 } }))
      threads += p.data.length;
    expect(threads).toBe(PER_GRANT.threads);
    let contacts = 0;
    for await (const p of nylas.contacts.list({ identifier: grant, queryParams: { limit: 30 } }))
      contacts += p.data.length;
    expect(contacts).toBe(PER_GRANT.contacts);
    const events = await nylas.events.list({
      identifier: grant,
      queryParams: { calendarId: 'primary', limit: 10 },
    });
    expect(events.data).toHaveLength(10);
    expect(events.nextCursor).toBeTruthy();
    expect(events.data[0]!.when).toMatchObject({ object: 'timespan' });
  });

  it('finds single objects by the ids it listed (messages, threads, calendars, contacts, drafts, folders)', async () => {
    const m = (await nylas.messages.list({ identifier: grant, queryParams: { limit: 3 } }))
      .data[1]!;
    const found = await nylas.messages.find({ identifier: grant, messageId: m.id });
    expect(found.data).toEqual(m);
    expect(found.data.grantId).toBe(grant);
    const t = await nylas.threads.find({ identifier: grant, threadId: m.threadId! });
    expect(t.data.messageIds).toContain(m.id);
    const cals = await nylas.calendars.list({ identifier: grant });
    expect(cals.data.find((c) => c.isPrimary)).toBeDefined();
    const cal = await nylas.calendars.find({ identifier: grant, calendarId: cals.data[1]!.id });
    expect(cal.data.name).toBe('Team');
    const drafts = await nylas.drafts.list({ identifier: grant });
    expect(
      (await nylas.drafts.find({ identifier: grant, draftId: drafts.data[0]!.id })).data.id,
    ).toBe(drafts.data[0]!.id);
    const folders = await nylas.folders.list({ identifier: grant });
    expect(folders.data.length).toBeGreaterThan(5);
  });

  it('throws NylasApiError with type, statusCode and requestId for a missing object and for a missing calendar_id', async () => {
    const err = await nylas.messages
      .find({ identifier: grant, messageId: 'nope' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NylasApiError);
    const e = err as NylasApiError;
    expect(e.statusCode).toBe(404);
    expect(e.type).toBe('not_found_error');
    expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const err2 = (await nylas.events
      .list({ identifier: grant, queryParams: {} as { calendarId: string } })
      .catch((x: unknown) => x)) as NylasApiError;
    expect(err2).toBeInstanceOf(NylasApiError);
    expect(err2.statusCode).toBe(400);
    expect(err2.type).toBe('invalid_request_error');
    expect(err2.message).toMatch(/calendar_id/);
  });

  it('answers 401 for a wrong API key and for an invalid grant', async () => {
    const bad = new Nylas({ apiKey: 'wrong', apiUri: sim.url });
    const e1 = (await bad.grants.list().catch((x: unknown) => x)) as NylasApiError;
    expect(e1).toBeInstanceOf(NylasApiError);
    expect(e1.statusCode).toBe(401);
    const victim = sim.listGrantIds()[5]!;
    void sim.setGrantStatus(victim, 'invalid');
    try {
      const e2 = (await nylas.messages
        .list({ identifier: victim })
        .catch((x: unknown) => x)) as NylasApiError;
      expect(e2.statusCode).toBe(401);
      expect(e2.type).toBe('unauthorized');
      expect((await nylas.grants.find({ grantId: victim })).data.grantStatus).toBe('invalid');
    } finally {
      void sim.setGrantStatus(victim, 'valid');
    }
  });

  it('throws a plain Error (not NylasApiError) on Fastly-style HTML 502s, and NylasApiError with providerError on provider 429s', async () => {
    sim.setFaults({ htmlErrorRate: 1 });
    try {
      const e = await nylas.messages.list({ identifier: grant }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Error);
      expect(e).not.toBeInstanceOf(NylasApiError);
      expect((e as Error).message).toMatch(/could not parse response.*502 Bad Gateway/s);
    } finally {
      sim.setFaults({ htmlErrorRate: 0 });
    }
    sim.setFaults({ providerRateLimitRate: 1, retryAfterSeconds: 7 });
    try {
      const e = (await nylas.messages
        .list({ identifier: grant })
        .catch((x: unknown) => x)) as NylasApiError;
      expect(e).toBeInstanceOf(NylasApiError);
      expect(e.statusCode).toBe(429);
      expect(e.type).toBe('rate_limit_error');
      expect(e.providerError).toBeDefined();
      expect(e.headers?.['retry-after']).toBe('7');
    } finally {
      sim.setFaults({ providerRateLimitRate: 0 });
    }
  });

  it('sends JSON and multipart messages; the multipart body is counted in full', async () => {
    const json = await nylas.messages.send({
      identifier: grant,
      requestBody: { to: [{ email: 'a@example.com' }], subject: 'json send', body: 'hi' },
    });
    expect(json.data.subject).toBe('json send');
    expect(sim.stats.lastSend).toMatchObject({ multipart: false, attachments: 0 });
    const size = 5 * 1024 * 1024;
    const multi = await nylas.messages.send({
      identifier: grant,
      requestBody: {
        to: [{ email: 'a@example.com' }],
        subject: 'multipart send',
        body: 'big',
        attachments: [
          {
            filename: 'big.bin',
            contentType: 'application/octet-stream',
            content: Buffer.alloc(size, 7),
            size,
          },
        ],
      },
    });
    expect(multi.data.subject).toBe('multipart send');
    expect(multi.data.attachments?.map((a) => a.filename)).toEqual(['big.bin']);
    expect(sim.stats.lastSend!.multipart).toBe(true);
    expect(sim.stats.lastSend!.bytes).toBeGreaterThan(size);
  });

  it('streams the 25 MiB attachment download and serves attachment metadata', async () => {
    const msgs = await nylas.messages.list({ identifier: grant, queryParams: { limit: 5 } });
    const withLarge = msgs.data.find((m) =>
      m.attachments?.some((a) => a.size === LARGE_ATTACHMENT_SIZE),
    )!;
    const att = withLarge.attachments![0]!;
    const meta = await nylas.attachments.find({
      identifier: grant,
      attachmentId: att.id,
      queryParams: { messageId: withLarge.id },
    });
    expect(meta.data.filename).toBe(att.filename);
    const stream = await nylas.attachments.download({
      identifier: grant,
      attachmentId: att.id,
      queryParams: { messageId: withLarge.id },
    });
    let bytes = 0;
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>)
      bytes += chunk.byteLength;
    expect(bytes).toBe(LARGE_ATTACHMENT_SIZE);
  });

  it('sets Nylas-Provider-Request-Count on grant reads and Nylas-Gmail-Quota-Usage on Google grants', async () => {
    const auth = { authorization: `Bearer ${API_KEY}` };
    const res = await fetch(`${sim.url}/v3/grants/${googleGrant}/messages?limit=2`, {
      headers: auth,
    });
    expect(res.headers.get('nylas-provider-request-count')).toMatch(/^\d+$/);
    expect(res.headers.get('nylas-gmail-quota-usage')).toMatch(/^\d+$/);
    expect(res.headers.get('x-request-id')).toBe(
      ((await res.json()) as { request_id: string }).request_id,
    );
  });

  it('returns only the fields named in select', async () => {
    const page = await nylas.messages.list({
      identifier: grant,
      queryParams: { limit: 2, select: 'id,subject' },
    });
    expect(Object.keys(page.data[0]!).sort()).toEqual(['id', 'subject']);
  });

  it('lists webhook destinations with their status through the SDK', async () => {
    const list = await nylas.webhooks.list();
    expect(list.data.length).toBeGreaterThanOrEqual(3);
    for (const w of list.data) expect(['active', 'pause', 'failing', 'failed']).toContain(w.status);
    sim.setWebhookStatus(list.data[0]!.id, 'failing');
    const again = await nylas.webhooks.find({ webhookId: list.data[0]!.id });
    expect(again.data.status).toBe('failing');
  });
});
