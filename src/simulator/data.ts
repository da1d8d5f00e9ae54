// Seeded, lazily generated Nylas objects. Every object is computed from (seed, grant index, object
// index) when it is read, so any number of grants costs memory only for what was changed.
import { frac, hash32, hex, pick } from './random.js';

export type Provider = 'google' | 'microsoft' | 'imap' | 'icloud' | 'yahoo' | 'ews';

/** Objects per grant: enough for several pages at the default limit of 50. */
export const PER_GRANT = {
  messages: 120,
  threads: 40,
  drafts: 6,
  events: 60,
  contacts: 75,
} as const;
/** The message (by index) whose single attachment is large: 25 MiB, streamed when downloaded. */
export const LARGE_ATTACHMENT_MESSAGE = 2;
export const LARGE_ATTACHMENT_SIZE = 25 * 1024 * 1024;

const FIRST = [
  'ada',
  'alan',
  'grace',
  'linus',
  'margaret',
  'ken',
  'barbara',
  'dennis',
  'frances',
  'edsger',
  'radia',
  'tim',
];
const LAST = [
  'lovelace',
  'turing',
  'hopper',
  'torvalds',
  'hamilton',
  'thompson',
  'liskov',
  'ritchie',
  'allen',
  'dijkstra',
  'perlman',
  'lee',
];
const SUBJECTS = [
  'Quarterly report',
  'Lunch on Friday?',
  'Invoice #4711',
  'Re: Project kickoff',
  'Your order has shipped',
  'Design review notes',
  'Weekly sync',
  'Contract draft v3',
  'Welcome aboard',
  'Re: Budget questions',
  'Team offsite',
  'Security update',
];
const EVENT_TITLES = [
  'Standup',
  '1:1',
  'Sprint planning',
  'Customer call',
  'Lunch',
  'Board meeting',
  'Retro',
  'Interview',
];
const BASE_EPOCH = 1_735_689_600; // 2025-01-01T00:00:00Z: fixed so that data is the same on every run

const PROVIDER_DOMAIN: Record<Provider, string> = {
  google: 'gmail.example.com',
  microsoft: 'outlook.example.com',
  imap: 'mail.example.org',
  icloud: 'icloud.example.com',
  yahoo: 'yahoo.example.com',
  ews: 'exchange.example.net',
};

/** Provider of grant i: mostly Google and Microsoft, like a typical Nylas application. */
export function providerOf(seed: number, i: number): Provider {
  const r = frac(seed, 3, i);
  if (r < 0.5) return 'google';
  if (r < 0.85) return 'microsoft';
  if (r < 0.92) return 'imap';
  if (r < 0.96) return 'icloud';
  if (r < 0.98) return 'yahoo';
  return 'ews';
}

/** The grant ID of index i: UUID-shaped, with the index in its last group so lookup is O(1). */
export function grantId(seed: number, i: number): string {
  return `${hex(hash32(seed, 1, i))}-${hex(hash32(seed, 2, i), 4)}-4${hex(hash32(seed, 4, i), 3)}-a${hex(hash32(seed, 5, i), 3)}-${hex(i, 12)}`;
}

/** Index of a grant ID, or -1 when it is not one of ours. */
export function grantIndexOfId(seed: number, id: string): number {
  const m = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-([0-9a-f]{12})$/.exec(id);
  if (!m) return -1;
  const i = parseInt(m[1]!, 16);
  return grantId(seed, i) === id ? i : -1;
}

function person(
  seed: number,
  tag: number,
  i: number,
  j = 0,
): { name: string; first: string; last: string } {
  const first = pick(FIRST, frac(seed, tag, i, j));
  const last = pick(LAST, frac(seed, tag + 1, i, j));
  return {
    first,
    last,
    name: `${first[0]!.toUpperCase()}${first.slice(1)} ${last[0]!.toUpperCase()}${last.slice(1)}`,
  };
}

/** The email address of grant i (index encoded, so lookups by email are O(1) too). */
export function grantEmail(seed: number, i: number): string {
  const p = person(seed, 6, i);
  return `${p.first}.${p.last}.${i}@${PROVIDER_DOMAIN[providerOf(seed, i)]}`;
}

export function grantIndexOfEmail(seed: number, email: string): number {
  const m = /\.(\d+)@/.exec(email);
  if (!m) return -1;
  const i = Number(m[1]);
  return grantEmail(seed, i) === email.toLowerCase() ? i : -1;
}

/** created_at of grant i: ten minutes apart, in index order. */
export function grantCreatedAt(i: number): number {
  return BASE_EPOCH + i * 600;
}

/** A v3 grant object (Spec list schema). */
export function grantObject(
  seed: number,
  i: number,
  status: 'valid' | 'invalid',
): Record<string, unknown> {
  const provider = providerOf(seed, i);
  const created = grantCreatedAt(i);
  return {
    id: grantId(seed, i),
    provider,
    grant_status: status,
    email: grantEmail(seed, i),
    name: person(seed, 6, i).name,
    scope:
      provider === 'google'
        ? [
            'https://www.googleapis.com/auth/gmail.modify',
            'https://www.googleapis.com/auth/calendar',
          ]
        : ['Mail.ReadWrite', 'Mail.Send', 'Calendars.ReadWrite', 'Contacts.Read'],
    created_at: created,
    updated_at: created + (hash32(seed, 7, i) % 86_400),
    blocked: false,
    ip: `198.51.100.${i % 250}`,
    user_agent: 'Mozilla/5.0',
    state: '',
    provider_user_id: hex(hash32(seed, 8, i), 8) + hex(hash32(seed, 9, i), 8),
    settings: {},
    email_aliases: [],
  };
}

/** An object ID: hex of a per-grant hash plus the object index, so it can be parsed back. */
export function objectId(seed: number, kind: number, g: number, j: number): string {
  return `${hex(hash32(seed, kind, g, 1))}${hex(hash32(seed, kind, g, j), 4)}${hex(j, 6)}`;
}

export function objectIndex(seed: number, kind: number, g: number, id: string): number {
  if (!/^[0-9a-f]{18}$/.test(id)) return -1;
  const j = parseInt(id.slice(12), 16);
  return objectId(seed, kind, g, j) === id ? j : -1;
}

export const KIND = {
  message: 20,
  thread: 21,
  draft: 22,
  event: 23,
  contact: 24,
  calendar: 25,
  attachment: 26,
  folder: 27,
} as const;

function participant(seed: number, g: number, j: number): { name: string; email: string } {
  const p = person(seed, 30, g, j);
  return { name: p.name, email: `${p.first}.${p.last}@example.com` };
}

/** Attachments of message j: one large one on LARGE_ATTACHMENT_MESSAGE, small ones on a quarter. */
export function attachmentsOf(seed: number, g: number, j: number): Array<Record<string, unknown>> {
  const grant = grantId(seed, g);
  const id = (k: number) => `${objectId(seed, KIND.attachment, g, j)}${k}`;
  if (j === LARGE_ATTACHMENT_MESSAGE)
    return [
      {
        id: id(0),
        grant_id: grant,
        filename: 'all-hands-recording.mp4',
        content_type: 'video/mp4',
        size: LARGE_ATTACHMENT_SIZE,
        is_inline: false,
      },
    ];
  if (j % 4 !== 1) return [];
  const out: Array<Record<string, unknown>> = [
    {
      id: id(0),
      grant_id: grant,
      filename: `invoice-${j}.pdf`,
      content_type: 'application/pdf',
      size: 20_000 + (hash32(seed, 31, g, j) % 180_000),
      is_inline: false,
    },
  ];
  if (j % 8 === 1)
    out.push({
      id: id(1),
      grant_id: grant,
      filename: 'logo.png',
      content_type: 'image/png',
      size: 4_096 + (hash32(seed, 32, g, j) % 8_000),
      is_inline: true,
      content_id: `logo-${j}`,
    });
  return out;
}

/** Message j of grant g (j=0 is the newest). */
export function messageObject(seed: number, g: number, j: number): Record<string, unknown> {
  const from = participant(seed, g, j);
  const date = BASE_EPOCH + 30_000_000 - j * 3_600;
  const subject = pick(SUBJECTS, frac(seed, 33, g, Math.floor(j / 3)));
  return {
    id: objectId(seed, KIND.message, g, j),
    grant_id: grantId(seed, g),
    object: 'message',
    thread_id: objectId(seed, KIND.thread, g, Math.floor(j / 3)),
    subject,
    from: [from],
    to: [{ name: person(seed, 6, g).name, email: grantEmail(seed, g) }],
    cc: [],
    bcc: [],
    reply_to: [],
    date,
    created_at: date,
    unread: j % 5 === 0,
    starred: j % 11 === 0,
    snippet: `${subject}: a short preview of message ${j}`,
    body: `<p>Hello,</p><p>${subject}. This is simulated message ${j}.</p>`,
    folders: [j % 7 === 3 ? 'SENT' : 'INBOX'],
    attachments: attachmentsOf(seed, g, j),
  };
}

export function threadObject(seed: number, g: number, t: number): Record<string, unknown> {
  const ids = [0, 1, 2].map((k) => objectId(seed, KIND.message, g, t * 3 + k));
  const latest = messageObject(seed, g, t * 3);
  return {
    id: objectId(seed, KIND.thread, g, t),
    grant_id: grantId(seed, g),
    object: 'thread',
    subject: latest.subject,
    participants: [participant(seed, g, t * 3), participant(seed, g, t * 3 + 1)],
    message_ids: ids,
    draft_ids: [],
    folders: latest.folders,
    has_attachments: [0, 1, 2].some((k) => attachmentsOf(seed, g, t * 3 + k).length > 0),
    has_drafts: false,
    starred: false,
    unread: t % 4 === 0,
    snippet: latest.snippet,
    earliest_message_date: (latest.date as number) - 7_200,
    latest_message_received_date: latest.date,
    latest_draft_or_message: latest,
  };
}

export function draftObject(seed: number, g: number, j: number): Record<string, unknown> {
  return {
    id: objectId(seed, KIND.draft, g, j),
    grant_id: grantId(seed, g),
    object: 'draft',
    subject: `Draft: ${pick(SUBJECTS, frac(seed, 34, g, j))}`,
    to: [participant(seed, g, j + 1000)],
    cc: [],
    bcc: [],
    reply_to: [],
    from: [{ name: person(seed, 6, g).name, email: grantEmail(seed, g) }],
    body: '<p>Unfinished thought…</p>',
    date: BASE_EPOCH + 29_000_000 - j * 86_400,
    created_at: BASE_EPOCH + 29_000_000 - j * 86_400,
    folders: ['DRAFT'],
    attachments: [],
    starred: false,
    unread: false,
  };
}

const FOLDERS = [
  'INBOX',
  'SENT',
  'DRAFT',
  'TRASH',
  'SPAM',
  'STARRED',
  'IMPORTANT',
  'Receipts',
  'Travel',
];

export function folderObjects(seed: number, g: number): Array<Record<string, unknown>> {
  const grant = grantId(seed, g);
  const google = providerOf(seed, g) === 'google';
  return FOLDERS.map((name, k) => ({
    id: google ? (k < 7 ? name : `Label_${k}`) : objectId(seed, KIND.folder, g, k),
    grant_id: grant,
    object: 'folder',
    name: k < 7 && !google ? name[0] + name.slice(1).toLowerCase() : name,
    system_folder: k < 7,
    total_count: k === 0 ? PER_GRANT.messages : hash32(seed, 35, g, k) % 500,
    unread_count: k === 0 ? PER_GRANT.messages / 5 : 0,
    child_count: 0,
    parent_id: null,
    attributes: k < 7 ? [`\\${name[0]}${name.slice(1).toLowerCase()}`] : [],
  }));
}

/** Calendars of grant g: the primary one and a shared team calendar. */
export function calendarObjects(seed: number, g: number): Array<Record<string, unknown>> {
  const grant = grantId(seed, g);
  return [
    {
      id: objectId(seed, KIND.calendar, g, 0),
      grant_id: grant,
      object: 'calendar',
      name: grantEmail(seed, g),
      description: null,
      is_primary: true,
      is_owned_by_user: true,
      read_only: false,
      timezone: 'Etc/UTC',
      hex_color: '#039be5',
    },
    {
      id: objectId(seed, KIND.calendar, g, 1),
      grant_id: grant,
      object: 'calendar',
      name: 'Team',
      description: 'Shared team calendar',
      is_primary: false,
      is_owned_by_user: false,
      read_only: true,
      timezone: 'Europe/Berlin',
      hex_color: '#7986cb',
    },
  ];
}

export function eventObject(
  seed: number,
  g: number,
  calendar: number,
  j: number,
): Record<string, unknown> {
  const start = BASE_EPOCH + 30_000_000 + j * 86_400 + (hash32(seed, 36, g, j) % 8) * 3_600;
  return {
    id: objectId(seed, KIND.event, g, calendar * PER_GRANT.events + j),
    grant_id: grantId(seed, g),
    calendar_id: objectId(seed, KIND.calendar, g, calendar),
    object: 'event',
    title: pick(EVENT_TITLES, frac(seed, 37, g, j)),
    description: null,
    location: j % 3 === 0 ? 'Room 4' : null,
    busy: true,
    read_only: calendar === 1,
    status: 'confirmed',
    visibility: 'default',
    participants: [{ ...participant(seed, g, j + 2000), status: 'yes' }],
    organizer: { name: person(seed, 6, g).name, email: grantEmail(seed, g) },
    when: {
      object: 'timespan',
      start_time: start,
      end_time: start + 1_800,
      start_timezone: 'Etc/UTC',
      end_timezone: 'Etc/UTC',
    },
    conferencing: {},
    reminders: { use_default: true, overrides: [] },
    created_at: start - 604_800,
    updated_at: start - 86_400,
  };
}

export function contactObject(seed: number, g: number, j: number): Record<string, unknown> {
  const p = person(seed, 38, g, j);
  return {
    id: objectId(seed, KIND.contact, g, j),
    grant_id: grantId(seed, g),
    object: 'contact',
    given_name: p.first[0]!.toUpperCase() + p.first.slice(1),
    surname: p.last[0]!.toUpperCase() + p.last.slice(1),
    emails: [{ email: `${p.first}.${p.last}@example.com`, type: 'work' }],
    phone_numbers: [],
    company_name: 'Example Corp',
    source: 'address_book',
    groups: [],
  };
}
