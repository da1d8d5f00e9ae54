// Grant-scoped v3 routes: messages, send, drafts, threads, folders, attachments, calendars,
// events, contacts. Reads are generated (data.ts); writes are answered and echoed, not stored.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { SimContext } from './context.js';
import {
  attachmentsOf,
  calendarObjects,
  contactObject,
  draftObject,
  eventObject,
  folderObjects,
  grantEmail,
  grantId,
  KIND,
  messageObject,
  objectIndex,
  PER_GRANT,
  providerOf,
  threadObject,
} from './data.js';
import type { Exchange } from './http.js';
import {
  BadRequest,
  cursorPage,
  cursorPageOf,
  isRecord,
  readJson,
  sendJson,
  sendNylasError,
} from './http.js';
import { hash32 } from './random.js';
import { readSendBody } from './send.js';

interface GrantExchange extends Exchange {
  g: number;
  /** Response headers every grant-scoped answer carries (provider request count, Gmail quota). */
  usage: Record<string, string>;
}

/** `select=a,b` on a GET keeps only those fields of each object (Nylas's field selection). */
function selected(x: GrantExchange, data: unknown): unknown {
  const select = x.req.method === 'GET' ? x.url.searchParams.get('select') : null;
  if (!select) return data;
  const keep = new Set(select.split(',').map((f) => f.trim()));
  const pickFields = (o: unknown) =>
    isRecord(o) ? Object.fromEntries(Object.entries(o).filter(([k]) => keep.has(k))) : o;
  return Array.isArray(data) ? data.map(pickFields) : pickFields(data);
}

function ok(x: GrantExchange, data: unknown, extra: Record<string, unknown> = {}): void {
  sendJson(x.res, 200, { request_id: x.requestId, data: selected(x, data), ...extra }, x.usage);
}

function notFound(x: Exchange, what: string): void {
  sendNylasError(x, 404, 'not_found_error', `${what} not found`);
}

function methodNotAllowed(x: Exchange): void {
  sendNylasError(
    x,
    405,
    'invalid_request_error',
    `method ${x.req.method} is not allowed on this path`,
  );
}

/** Provider calls a route costs, for `Nylas-Provider-Request-Count` (threads fan out). */
function usageHeaders(
  ctx: SimContext,
  g: number,
  resource: string,
  list: boolean,
): Record<string, string> {
  const count = resource === 'threads' ? (list ? 11 : 4) : list ? 2 : 1;
  const h: Record<string, string> = { 'nylas-provider-request-count': String(count) };
  if (
    providerOf(ctx.seed, g) === 'google' &&
    ['messages', 'threads', 'drafts', 'folders', 'attachments'].includes(resource)
  )
    h['nylas-gmail-quota-usage'] = String(count * (resource === 'threads' ? 10 : 5));
  return h;
}

async function echo(x: GrantExchange, base: Record<string, unknown>): Promise<void> {
  const body = await readJson(x.req);
  ok(x, { ...base, ...(isRecord(body) ? body : {}) });
}

function deleted(x: GrantExchange): void {
  x.req.resume();
  sendJson(x.res, 200, { request_id: x.requestId }, x.usage);
}

/** Nylas keeps a send's answer for an Idempotency-Key for an hour, per grant. */
const IDEMPOTENCY_TTL_MS = 3_600_000;
/** Bound on remembered keys, so a long demo cannot grow the cache without limit. */
const IDEMPOTENCY_MAX_KEYS = 10_000;

async function send(ctx: SimContext, x: GrantExchange, object: 'message' | 'draft'): Promise<void> {
  const rawKey = x.req.headers['idempotency-key'];
  const key = object === 'message' && typeof rawKey === 'string' ? rawKey : undefined;
  if (key !== undefined && (key.length === 0 || key.length > 256))
    return sendNylasError(
      x,
      400,
      'api.invalid_idempotency_key',
      'Idempotency-Key must be 1 to 256 characters',
    );
  const cacheKey = `${x.g}:${key ?? ''}`;
  const cache = ctx.sends.idempotency;
  const cached = key === undefined ? undefined : cache.get(cacheKey);
  if (cached === 'pending') {
    x.req.resume();
    return sendNylasError(
      x,
      409,
      'api.concurrent_idempotent_request',
      'A request with this Idempotency-Key is in progress',
    );
  }
  if (cached && ctx.now() - cached.at > IDEMPOTENCY_TTL_MS) cache.delete(cacheKey);
  if (key !== undefined && !cache.has(cacheKey)) {
    if (cache.size >= IDEMPOTENCY_MAX_KEYS) cache.delete(cache.keys().next().value!);
    cache.set(cacheKey, 'pending');
  }
  let parsed;
  try {
    parsed = await readSendBody(x.req);
  } catch (err) {
    if (key !== undefined && cache.get(cacheKey) === 'pending') cache.delete(cacheKey);
    throw err;
  }
  ctx.stats.lastSend = {
    multipart: parsed.multipart,
    bytes: parsed.bytes,
    attachments: parsed.attachments.length,
  };
  const { message } = parsed;
  const fingerprint = JSON.stringify([
    message,
    parsed.attachments,
    parsed.multipart ? parsed.bytes : 0,
  ]);
  const hit = key === undefined ? undefined : cache.get(cacheKey);
  if (hit !== undefined && hit !== 'pending') {
    if (hit.fingerprint !== fingerprint)
      return sendNylasError(
        x,
        409,
        'api.invalid_idempotent_request',
        'This Idempotency-Key was used with a different request body',
      );
    return ok(x, hit.data);
  }
  if (object === 'message' && (!Array.isArray(message.to) || message.to.length === 0)) {
    if (key !== undefined) cache.delete(cacheKey);
    throw new BadRequest('to must list at least one recipient');
  }
  const n = ++ctx.sends.count;
  const now = Math.floor(ctx.now() / 1000);
  const data = {
    id: `${randomBytes(6).toString('hex')}${n.toString(16).padStart(6, '0')}`,
    grant_id: grantId(ctx.seed, x.g),
    object,
    subject: typeof message.subject === 'string' ? message.subject : '',
    body: typeof message.body === 'string' ? message.body : '',
    from: [{ email: grantEmail(ctx.seed, x.g) }],
    to: message.to ?? [],
    cc: message.cc ?? [],
    bcc: message.bcc ?? [],
    reply_to: message.reply_to ?? [],
    date: now,
    created_at: now,
    folders: [object === 'draft' ? 'DRAFT' : 'SENT'],
    attachments: parsed.attachments.map((filename, k) => ({
      id: `sent${n}x${k}`,
      filename,
      grant_id: grantId(ctx.seed, x.g),
    })),
  };
  if (key !== undefined) cache.set(cacheKey, { fingerprint, at: ctx.now(), data });
  ok(x, data);
}

function messagesList(ctx: SimContext, x: GrantExchange): void {
  const q = x.url.searchParams;
  const unread = q.get('unread');
  const inFolder = q.get('in');
  const subject = q.get('subject');
  const threadId = q.get('thread_id');
  if (unread === null && inFolder === null && subject === null && threadId === null)
    return ok(
      x,
      ...pageArgs(cursorPage(x.url, PER_GRANT.messages, (j) => messageObject(ctx.seed, x.g, j))),
    );
  const all: Array<Record<string, unknown>> = [];
  for (let j = 0; j < PER_GRANT.messages; j++) {
    const m = messageObject(ctx.seed, x.g, j);
    if (unread !== null && String(m.unread) !== unread) continue;
    if (inFolder !== null && !(m.folders as string[]).includes(inFolder)) continue;
    if (subject !== null && m.subject !== subject) continue;
    if (threadId !== null && m.thread_id !== threadId) continue;
    all.push(m);
  }
  ok(x, ...pageArgs(cursorPageOf(x.url, all)));
}

function pageArgs(p: {
  data: unknown[];
  next_cursor?: string;
}): [unknown, Record<string, unknown>] {
  return [p.data, p.next_cursor === undefined ? {} : { next_cursor: p.next_cursor }];
}

/** A collection of generated objects: list, find, update (echo), delete, create (echo). */
async function collection(
  x: GrantExchange,
  id: string | undefined,
  opts: {
    what: string;
    list: () => void;
    find: (id: string) => Record<string, unknown> | undefined;
    create?: () => Promise<void>;
  },
): Promise<void> {
  const method = x.req.method;
  if (id === undefined) {
    if (method === 'GET') return opts.list();
    if (method === 'POST' && opts.create) return opts.create();
    return methodNotAllowed(x);
  }
  const obj = opts.find(id);
  if (!obj) return notFound(x, opts.what);
  if (method === 'GET') return ok(x, obj);
  if (method === 'PUT' || method === 'PATCH') return echo(x, obj);
  if (method === 'DELETE') return deleted(x);
  return methodNotAllowed(x);
}

function findAttachment(
  ctx: SimContext,
  x: GrantExchange,
  attId: string,
): Record<string, unknown> | undefined {
  const messageId = x.url.searchParams.get('message_id');
  if (!messageId) throw new BadRequest('message_id is required');
  const j = objectIndex(ctx.seed, KIND.message, x.g, messageId);
  if (j < 0 || j >= PER_GRANT.messages) return undefined;
  return attachmentsOf(ctx.seed, x.g, j).find((a) => a.id === attId);
}

/** Streams `size` deterministic bytes in 64 KiB chunks, honouring back-pressure. */
function byteStream(size: number, seed: number): Readable {
  const block = Buffer.alloc(64 * 1024);
  for (let k = 0; k < block.length; k += 4) block.writeUInt32LE(hash32(seed, 80, k), k);
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, block.length);
      left -= n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}

function calendarIndex(ctx: SimContext, g: number, id: string): number {
  if (id === 'primary') return 0;
  const k = objectIndex(ctx.seed, KIND.calendar, g, id);
  return k === 0 || k === 1 ? k : -1;
}

function requireCalendar(ctx: SimContext, x: GrantExchange): number {
  const id = x.url.searchParams.get('calendar_id');
  if (!id) throw new BadRequest('calendar_id is required');
  const c = calendarIndex(ctx, x.g, id);
  if (c < 0) throw new BadRequest(`calendar ${id} not found`);
  return c;
}

/** Routes /v3/grants/{grant_id}/{resource}/... for a resolved, valid grant. */
export async function handleGrantScoped(ctx: SimContext, x0: Exchange, g: number): Promise<void> {
  const [, , , resource, id, sub] = x0.parts;
  const method = x0.req.method;
  const x: GrantExchange = Object.assign(x0, {
    g,
    usage: usageHeaders(ctx, g, resource ?? '', id === undefined && method === 'GET'),
  });
  const seed = ctx.seed;
  const idx = (kind: number, s: string, max: number) => {
    const j = objectIndex(seed, kind, g, s);
    return j >= 0 && j < max ? j : -1;
  };
  switch (resource) {
    case 'messages':
      if (id === 'send') return method === 'POST' ? send(ctx, x, 'message') : methodNotAllowed(x);
      if (id === 'schedules') return method === 'GET' ? ok(x, []) : methodNotAllowed(x);
      if (id === 'clean') return method === 'PUT' ? echo(x, {}) : methodNotAllowed(x);
      if (sub !== undefined) return notFound(x, 'route');
      return collection(x, id, {
        what: 'message',
        list: () => messagesList(ctx, x),
        find: (s) => {
          const j = idx(KIND.message, s, PER_GRANT.messages);
          return j < 0 ? undefined : messageObject(seed, g, j);
        },
      });
    case 'threads':
      return collection(x, id, {
        what: 'thread',
        list: () =>
          ok(x, ...pageArgs(cursorPage(x.url, PER_GRANT.threads, (t) => threadObject(seed, g, t)))),
        find: (s) => {
          const t = idx(KIND.thread, s, PER_GRANT.threads);
          return t < 0 ? undefined : threadObject(seed, g, t);
        },
      });
    case 'drafts':
      if (id !== undefined && method === 'POST') {
        if (idx(KIND.draft, id, PER_GRANT.drafts) < 0) return notFound(x, 'draft');
        x.req.resume();
        return ok(x, {
          ...draftObject(seed, g, idx(KIND.draft, id, PER_GRANT.drafts)),
          object: 'message',
          folders: ['SENT'],
        });
      }
      return collection(x, id, {
        what: 'draft',
        list: () =>
          ok(x, ...pageArgs(cursorPage(x.url, PER_GRANT.drafts, (j) => draftObject(seed, g, j)))),
        find: (s) => {
          const j = idx(KIND.draft, s, PER_GRANT.drafts);
          return j < 0 ? undefined : draftObject(seed, g, j);
        },
        create: () => send(ctx, x, 'draft'),
      });
    case 'folders':
      return collection(x, id, {
        what: 'folder',
        list: () => ok(x, ...pageArgs(cursorPageOf(x.url, folderObjects(seed, g)))),
        find: (s) => folderObjects(seed, g).find((f) => f.id === s),
        create: () =>
          echo(x, {
            id: `Label_${ctx.now() % 100000}`,
            grant_id: grantId(seed, g),
            object: 'folder',
          }),
      });
    case 'calendars':
      if (id === 'free-busy') return method === 'POST' ? echo(x, {}) : methodNotAllowed(x);
      return collection(x, id, {
        what: 'calendar',
        list: () => ok(x, ...pageArgs(cursorPageOf(x.url, calendarObjects(seed, g)))),
        find: (s) => {
          const c = calendarIndex(ctx, g, s);
          return c < 0 ? undefined : calendarObjects(seed, g)[c];
        },
        create: () =>
          echo(x, {
            id: `cal${ctx.now() % 100000}`,
            grant_id: grantId(seed, g),
            object: 'calendar',
          }),
      });
    case 'events': {
      if (id === undefined && method === 'GET') {
        const c = requireCalendar(ctx, x);
        return ok(
          x,
          ...pageArgs(cursorPage(x.url, PER_GRANT.events, (j) => eventObject(seed, g, c, j))),
        );
      }
      if (id === undefined && method === 'POST') {
        const c = requireCalendar(ctx, x);
        return echo(x, { ...eventObject(seed, g, c, 0), id: `ev${ctx.now() % 1_000_000}` });
      }
      if (id === 'import') return method === 'GET' ? ok(x, []) : methodNotAllowed(x);
      if (sub === 'send-rsvp') return method === 'POST' ? echo(x, {}) : methodNotAllowed(x);
      if (method === 'GET') requireCalendar(ctx, x);
      return collection(x, id, {
        what: 'event',
        list: () => undefined,
        find: (s) => {
          const e = idx(KIND.event, s, PER_GRANT.events * 2);
          return e < 0
            ? undefined
            : eventObject(seed, g, Math.floor(e / PER_GRANT.events), e % PER_GRANT.events);
        },
      });
    }
    case 'contacts':
      if (id === 'groups')
        return method === 'GET'
          ? ok(x, [
              {
                id: 'friends',
                grant_id: grantId(seed, g),
                object: 'contact_group',
                name: 'Friends',
                group_type: 'user',
                path: 'Friends',
              },
            ])
          : methodNotAllowed(x);
      return collection(x, id, {
        what: 'contact',
        list: () =>
          ok(
            x,
            ...pageArgs(cursorPage(x.url, PER_GRANT.contacts, (j) => contactObject(seed, g, j))),
          ),
        find: (s) => {
          const j = idx(KIND.contact, s, PER_GRANT.contacts);
          return j < 0 ? undefined : contactObject(seed, g, j);
        },
        create: () =>
          echo(x, {
            id: `ct${ctx.now() % 1_000_000}`,
            grant_id: grantId(seed, g),
            object: 'contact',
          }),
      });
    case 'attachments': {
      if (id === undefined || method !== 'GET') return notFound(x, 'route');
      const att = findAttachment(ctx, x, id);
      if (!att) return notFound(x, 'attachment');
      if (sub === undefined) return ok(x, att);
      if (sub !== 'download') return notFound(x, 'route');
      x.res.writeHead(200, {
        ...x.usage,
        'content-type': String(att.content_type),
        'content-length': String(att.size),
        'content-disposition': `attachment; filename="${String(att.filename)}"`,
      });
      const body = byteStream(Number(att.size), hash32(seed, 81, g));
      body.pipe(x.res);
      x.res.on('close', () => body.destroy());
      return;
    }
    case undefined:
    default:
      return notFound(x, 'route');
  }
}
