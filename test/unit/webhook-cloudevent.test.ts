import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { attemptLabel, parseNotification } from '../../src/webhooks/cloudevent.js';
import { knownTriggers, triggerLabel } from '../../src/webhooks/triggers.js';

const event = {
  specversion: '1.0',
  type: 'grant.expired',
  source: '/nylas/system',
  id: 'notif-1',
  time: 1739223251,
  webhook_delivery_attempt: 2,
  data: { application_id: 'app', object: { grant_id: 'g' } },
};
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('CloudEvent envelope parsing', () => {
  it('reads id, type, time and the delivery attempt', async () => {
    expect(await parseNotification(json(event), false)).toEqual({
      ok: true,
      envelope: {
        id: 'notif-1',
        type: 'grant.expired',
        time: 1739223251,
        attempt: 2,
        grant: { grantId: 'g', provider: undefined },
      },
    });
  });

  it('reads the grant of a grant notification, and only an id-shaped one', async () => {
    const withProvider = {
      ...event,
      data: { object: { grant_id: 'a1-b2_c3', provider: 'google', email: 'x@example.com' } },
    };
    const ok = await parseNotification(json(withProvider), false);
    expect(ok.ok && ok.envelope.grant).toEqual({ grantId: 'a1-b2_c3', provider: 'google' });
    const odd = { ...event, data: { object: { grant_id: 'not a grant id\n' } } };
    const r = await parseNotification(json(odd), false);
    expect(r.ok && r.envelope.grant).toBeUndefined();
    const message = { ...event, type: 'message.created' };
    const m = await parseNotification(json(message), false);
    expect(m.ok && 'grant' in m.envelope).toBe(false);
  });

  it('inflates a gzip body for parsing', async () => {
    const r = await parseNotification(gzipSync(json(event)), true);
    expect(r.ok && r.envelope.id).toBe('notif-1');
  });

  it('calls a body that is not gzip but says so malformed', async () => {
    expect(await parseNotification(json(event), true)).toMatchObject({
      ok: false,
      reason: 'bad_gzip',
    });
  });

  it('stops inflating a gzip bomb', async () => {
    const bomb = gzipSync(Buffer.alloc(5 * 1024 * 1024, 0x20));
    expect(await parseNotification(bomb, true)).toMatchObject({ ok: false, reason: 'bad_gzip' });
  });

  it('calls invalid JSON and non-objects malformed', async () => {
    expect(await parseNotification(Buffer.from('{"id":'), false)).toMatchObject({
      reason: 'not_json',
    });
    expect(await parseNotification(json([event]), false)).toMatchObject({ reason: 'not_object' });
    expect(await parseNotification(json('text'), false)).toMatchObject({ reason: 'not_object' });
  });

  it('calls missing id, type or time malformed and keeps the type when there is one', async () => {
    const without = (key: keyof typeof event) =>
      Object.fromEntries(Object.entries(event).filter(([k]) => k !== key));
    const [noId, noTime, noType] = [without('id'), without('time'), without('type')];
    expect(await parseNotification(json(noId), false)).toEqual({
      ok: false,
      reason: 'missing_fields',
      type: 'grant.expired',
    });
    expect(await parseNotification(json(noTime), false)).toMatchObject({
      reason: 'missing_fields',
    });
    expect(await parseNotification(json(noType), false)).toMatchObject({
      reason: 'missing_fields',
      type: undefined,
    });
    expect(await parseNotification(json({ ...event, time: 'yesterday' }), false)).toMatchObject({
      reason: 'missing_fields',
    });
  });

  it('accepts an envelope without webhook_delivery_attempt', async () => {
    const noAttempt = { ...event, webhook_delivery_attempt: undefined };
    const r = await parseNotification(json(noAttempt), false);
    expect(r.ok && r.envelope.attempt).toBeUndefined();
  });
});

describe('bounded labels', () => {
  it('keeps every known trigger and its delivery-only variants, and calls anything else other', () => {
    for (const t of knownTriggers()) expect(triggerLabel(t)).toBe(t);
    expect(triggerLabel('message.created.truncated')).toBe('message.created.truncated');
    expect(triggerLabel('message.updated.metadata')).toBe('message.updated.metadata');
    expect(triggerLabel('message.opened.legacy')).toBe('message.opened.legacy');
    expect(triggerLabel('event.updated.transformed')).toBe('event.updated.transformed');
    expect(triggerLabel('account.connected')).toBe('other');
    expect(triggerLabel('message.created.truncated.truncated')).toBe('other');
    expect(triggerLabel('user@example.com')).toBe('other');
    expect(triggerLabel(undefined)).toBe('other');
  });

  it('bounds the attempt label', () => {
    expect(attemptLabel(1)).toBe('1');
    expect(attemptLabel(3)).toBe('3');
    expect(attemptLabel(0)).toBe('other');
    expect(attemptLabel(99)).toBe('other');
  });
});
