import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';

const gunzipAsync = promisify(gunzip);

/**
 * Most bytes a compressed delivery may inflate to. Nylas caps payloads at 1 MB, so 4 MB leaves a
 * wide margin while a gzip bomb stops here.
 */
const MAX_INFLATED_BYTES = 4 * 1024 * 1024;

/** The CloudEvent fields the listener measures. */
export interface NotificationEnvelope {
  /** Notification id: the dedupe key (the same on every retry of one notification). */
  id: string;
  /** Trigger type, e.g. `message.created`. */
  type: string;
  /** When Nylas created the notification, Unix seconds. */
  time: number;
  /** 1 on the first delivery, 2 and 3 on Nylas's retries; undefined when absent. */
  attempt: number | undefined;
  /** `data.object.grant_id` and `provider` of grant.* notifications; never the email. */
  grant?: { grantId: string; provider: string | undefined };
}

/** Grant ids are UUIDs (or provider-style ids): anything else is not used as a label. */
const GRANT_ID = /^[A-Za-z0-9_-]{1,128}$/;

function grantOf(doc: Record<string, unknown>): NotificationEnvelope['grant'] {
  const data = isRecord(doc.data) ? doc.data : undefined;
  const object = data && isRecord(data.object) ? data.object : undefined;
  const id = object?.grant_id ?? data?.grant_id;
  if (typeof id !== 'string' || !GRANT_ID.test(id)) return undefined;
  const provider = typeof object?.provider === 'string' ? object.provider : undefined;
  return { grantId: id, provider };
}

/** Why a body is not a notification. */
export type MalformedReason = 'bad_gzip' | 'not_json' | 'not_object' | 'missing_fields';

export type ParseResult =
  | { ok: true; envelope: NotificationEnvelope }
  /** `type` is kept when present so the outcome can still carry a trigger label. */
  | { ok: false; reason: MalformedReason; type: string | undefined };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numberField(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/**
 * Reads the CloudEvent envelope of a notification body. A gzip body is inflated here for parsing
 * only: the bytes forwarded and verified stay the compressed ones. Required: a non-empty string
 * `id` and `type` and a numeric `time`; `webhook_delivery_attempt` is optional (Nylas sends it,
 * but its absence does not stop the listener from measuring the rest).
 */
export async function parseNotification(raw: Buffer, gzipped: boolean): Promise<ParseResult> {
  let text: Buffer = raw;
  if (gzipped) {
    try {
      text = await gunzipAsync(raw, { maxOutputLength: MAX_INFLATED_BYTES });
    } catch {
      // Not gzip, truncated, or a bomb past the cap: the outcome (malformed) says it.
      return { ok: false, reason: 'bad_gzip', type: undefined };
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not_json', type: undefined };
  }
  if (!isRecord(doc)) return { ok: false, reason: 'not_object', type: undefined };
  const type = typeof doc.type === 'string' && doc.type !== '' ? doc.type : undefined;
  const id = typeof doc.id === 'string' && doc.id !== '' ? doc.id : undefined;
  const time = numberField(doc.time);
  const attemptValue = numberField(doc.webhook_delivery_attempt);
  if (type === undefined || id === undefined || time === undefined)
    return { ok: false, reason: 'missing_fields', type };
  return {
    ok: true,
    envelope: {
      id,
      type,
      time,
      attempt:
        attemptValue !== undefined && Number.isInteger(attemptValue) ? attemptValue : undefined,
      ...(type.startsWith('grant.') ? { grant: grantOf(doc) } : {}),
    },
  };
}

/**
 * The bounded `attempt` label: Nylas makes at most 3 attempts; anything above 5 (or not a
 * positive whole number) is `other`.
 */
export function attemptLabel(attempt: number): string {
  return attempt >= 1 && attempt <= 5 ? String(attempt) : 'other';
}
