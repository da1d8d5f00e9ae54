/**
 * The Nylas v3 trigger types a notification's CloudEvent `type` may carry
 * (Nylas's API spec's enum plus the Node SDK's WebhookTriggers).
 * The `trigger` label takes only these values (and their delivery-only variants) or `other`, so
 * a sender cannot grow the label set.
 */
const V3_TRIGGERS: readonly string[] = [
  // Grants
  'grant.created',
  'grant.updated',
  'grant.deleted',
  'grant.expired',
  'grant.imap_sync_completed',
  // Messages
  'message.created',
  'message.updated',
  'message.deleted',
  'message.created.cleaned',
  'message.send_success',
  'message.send_failed',
  'message.bounce_detected',
  // Tracking
  'message.opened',
  'message.link_clicked',
  'thread.replied',
  // Agent Accounts
  'message.delivered',
  'message.bounced',
  'message.complaint',
  'message.rejected',
  // Transactional send
  'message.transactional.delivered',
  'message.transactional.bounced',
  'message.transactional.complaint',
  'message.transactional.rejected',
  // Folders, calendars, events, contacts
  'folder.created',
  'folder.updated',
  'folder.deleted',
  'calendar.created',
  'calendar.updated',
  'calendar.deleted',
  'event.created',
  'event.updated',
  'event.deleted',
  'contact.updated',
  'contact.deleted',
  // Scheduler
  'booking.created',
  'booking.pending',
  'booking.rescheduled',
  'booking.cancelled',
  'booking.reminder',
  // Notetaker
  'notetaker.created',
  'notetaker.updated',
  'notetaker.deleted',
  'notetaker.meeting_state',
  'notetaker.media',
  // ExtractAI
  'message.intelligence.order',
  'message.intelligence.tracking',
  'message.intelligence.return',
  'message.intelligence.travel',
];

/**
 * Suffixes Nylas adds to a trigger on delivery: `.truncated` (payload over 1 MB, body stripped),
 * `.metadata` (Gmail metadata scope), `.transformed` (customised payloads), `.legacy` (old
 * tracking). One suffix on a known trigger keeps the set finite.
 */
const DELIVERY_SUFFIXES: readonly string[] = ['.truncated', '.metadata', '.transformed', '.legacy'];

const KNOWN: ReadonlySet<string> = new Set(V3_TRIGGERS);

/** The value that stands for any trigger not in the known list. */
export const OTHER_TRIGGER = 'other';

/** The bounded `trigger` label for a CloudEvent `type`: the type itself when known, else `other`. */
export function triggerLabel(type: string | undefined): string {
  if (type === undefined) return OTHER_TRIGGER;
  if (KNOWN.has(type)) return type;
  for (const suffix of DELIVERY_SUFFIXES) {
    if (type.endsWith(suffix) && KNOWN.has(type.slice(0, -suffix.length))) return type;
  }
  return OTHER_TRIGGER;
}

/** Every trigger the listener knows, without delivery-only variants (tests, documentation). */
export function knownTriggers(): readonly string[] {
  return V3_TRIGGERS;
}
