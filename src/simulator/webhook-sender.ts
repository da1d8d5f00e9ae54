import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** A Nylas v3 notification: a CloudEvents 1.0 envelope, as Nylas sends them. */
export interface NylasCloudEvent {
  specversion: '1.0';
  type: string;
  source: string;
  /** Notification id: the same on every retry of one notification. */
  id: string;
  /** Unix seconds. */
  time: number;
  /** Set by the sender on each attempt (1, 2, 3). */
  webhook_delivery_attempt: number;
  data: { application_id: string; object: Record<string, unknown> };
}

/** Options of makeEvent. */
export interface MakeEventOptions {
  id?: string;
  /** Unix seconds; default now. */
  time?: number;
  applicationId?: string;
  grantId?: string;
  /** Replaces the sample `data.object`. */
  object?: Record<string, unknown>;
  /** Clock in milliseconds for the default `time`. */
  now?: () => number;
}

export const GRANT_CODES: Record<string, number> = {
  'grant.created': 25012,
  'grant.deleted': 25013,
  'grant.updated': 25014,
  'grant.expired': 25009,
  'grant.imap_sync_completed': 25012,
};

function sourceFor(trigger: string): string {
  const family = trigger.split('.')[0];
  if (family === 'grant') return '/nylas/system';
  if (trigger === 'message.send_success' || trigger === 'message.send_failed') return '/nylas/send';
  if (
    trigger === 'message.opened' ||
    trigger === 'message.link_clicked' ||
    trigger.startsWith('thread.replied')
  )
    return '/com/nylas/tracking';
  if (family === 'notetaker') return '/nylas/notetaker';
  if (family === 'event' || family === 'calendar') return '/google/events/incremental';
  return '/google/emails/realtime';
}

function sampleObject(trigger: string, grantId: string): Record<string, unknown> {
  const family = trigger.split('.')[0] ?? '';
  const code = GRANT_CODES[trigger];
  if (code !== undefined)
    return {
      code,
      grant_id: grantId,
      integration_id: 'sim-integration',
      provider: 'google',
      email: 'demo.user@example.com',
      grant_updated_at: 1734200000,
    };
  const id = randomUUID().replaceAll('-', '');
  switch (family) {
    case 'message':
      return {
        id,
        grant_id: grantId,
        object: 'message',
        subject: 'Quarterly report',
        from: [{ email: 'sender@example.com', name: 'Sender' }],
        to: [{ email: 'demo.user@example.com' }],
        date: 1739223200,
        snippet: 'Please find the report attached.',
        folders: ['INBOX'],
        unread: true,
      };
    case 'thread':
      return { id, grant_id: grantId, object: 'thread', message_id: randomUUID() };
    case 'event':
      return {
        id,
        grant_id: grantId,
        object: 'event',
        calendar_id: 'primary',
        title: 'Weekly sync',
        when: { object: 'timespan', start_time: 1739226800, end_time: 1739230400 },
      };
    case 'calendar':
      return { id, grant_id: grantId, object: 'calendar', name: 'Work' };
    case 'contact':
      return { id, grant_id: grantId, object: 'contact', given_name: 'Ada' };
    case 'folder':
      return { id, grant_id: grantId, object: 'folder', name: 'Projects' };
    case 'booking':
      return { booking_id: id, configuration_id: randomUUID(), object: 'booking' };
    case 'notetaker':
      return { id, grant_id: grantId, object: 'notetaker', state: 'scheduled' };
    default:
      return { id, grant_id: grantId };
  }
}

/**
 * A sample notification for a trigger type, shaped like Nylas's (envelope fields, a `source`
 * that fits the trigger, a plausible `data.object`). `webhook_delivery_attempt` is 1; deliver()
 * sets it per attempt.
 */
export function makeEvent(trigger: string, opts: MakeEventOptions = {}): NylasCloudEvent {
  const now = opts.now ?? Date.now;
  const grantId = opts.grantId ?? 'sim-grant-0001';
  return {
    specversion: '1.0',
    type: trigger,
    source: sourceFor(trigger),
    id: opts.id ?? randomUUID(),
    time: opts.time ?? Math.floor(now() / 1000),
    webhook_delivery_attempt: 1,
    data: {
      application_id: opts.applicationId ?? 'sim-application',
      object: opts.object ?? sampleObject(trigger, grantId),
    },
  };
}

/** Hex HMAC-SHA256 of the exact body bytes: Nylas's `X-Nylas-Signature`. */
export function signWebhookBody(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** One delivery attempt as Nylas would make it: the exact bytes and headers. */
export interface EncodedDelivery {
  body: Buffer;
  headers: Record<string, string>;
}

/** The result of one attempt. */
export interface AttemptResult {
  attempt: number;
  /** The endpoint's status; undefined when it did not answer (error or timeout). */
  status: number | undefined;
  /** `timeout` or the error code when there was no answer. */
  error?: string;
  durationMs: number;
}

/** The result of deliver(). */
export interface DeliveryResult {
  /** True when an attempt got a 2xx. */
  delivered: boolean;
  attempts: AttemptResult[];
}

/** The result of challenge(). */
export interface ChallengeResult {
  /** True when the endpoint answered 200 with exactly the challenge value. */
  ok: boolean;
  status: number | undefined;
  challenge: string;
  body: string;
}

/** Options of createWebhookSender. */
export interface WebhookSenderOptions {
  /** The destination's webhook_secret: signs every body. */
  secret: string;
  /** Clock in milliseconds (event times, durations). */
  now?: () => number;
  /** fetch to use (default the global one). */
  fetchImpl?: typeof fetch;
  /** Per-attempt timeout; Nylas gives an endpoint 10 s. */
  timeoutMs?: number;
  /**
   * Wait before attempt n+1 (n is the attempt that failed). Nylas backs off exponentially over
   * 10-20 minutes; the default here is 1 s, 2 s so a demo sees retries soon. Tests pass 0.
   */
  backoffMs?: (failedAttempt: number) => number;
}

/** Options of one deliver() call. */
export interface DeliverOptions {
  /** Send the body gzip-compressed with `Content-Encoding: gzip` (compressed_delivery: true). */
  compress?: boolean;
  /** Number of the first attempt (default 1). */
  attempt?: number;
  /** Attempts in all, counting the first (default 3, as Nylas). */
  maxAttempts?: number;
}

/** Sends Nylas-style webhook traffic to an endpoint. */
export interface WebhookSender {
  /** Sends `GET url?challenge=<random>` and checks that the value is echoed exactly. */
  challenge(url: string): Promise<ChallengeResult>;
  /**
   * POSTs a notification as Nylas does, signed; retries on a non-2xx answer, an error or a
   * timeout, up to maxAttempts in all, with `webhook_delivery_attempt` counting up.
   */
  deliver(url: string, event: NylasCloudEvent, opts?: DeliverOptions): Promise<DeliveryResult>;
  /** The exact bytes and headers of one attempt (for tests that replay or tamper with them). */
  encode(event: NylasCloudEvent, opts?: { compress?: boolean; attempt?: number }): EncodedDelivery;
}

/**
 * Creates the simulator's webhook sender: it signs CloudEvents like Nylas (hex HMAC-SHA256 of the
 * raw body, of the gzip bytes when compressed) and follows Nylas's delivery rules (10 s per
 * attempt, 3 attempts). The simulator's control API and demo mode drive it; it also serves
 * users' own tests of their webhook endpoints.
 */
export function createWebhookSender(opts: WebhookSenderOptions): WebhookSender {
  const doFetch = opts.fetchImpl ?? fetch;
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const backoffMs = opts.backoffMs ?? ((n: number) => 1_000 * 2 ** (n - 1));

  const encode: WebhookSender['encode'] = (event, o = {}) => {
    const json = Buffer.from(
      JSON.stringify({
        ...event,
        webhook_delivery_attempt: o.attempt ?? event.webhook_delivery_attempt,
      }),
      'utf8',
    );
    const body = o.compress ? gzipSync(json) : json;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-nylas-signature': signWebhookBody(opts.secret, body),
    };
    if (o.compress) headers['content-encoding'] = 'gzip';
    return { body, headers };
  };

  async function attemptOnce(
    url: string,
    d: EncodedDelivery,
    attempt: number,
  ): Promise<AttemptResult> {
    const started = now();
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: d.headers,
        body: d.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The answer's body is not needed; reading it frees the connection.
      await res.arrayBuffer().catch(() => undefined);
      return { attempt, status: res.status, durationMs: now() - started };
    } catch (err) {
      const name = (err as { name?: unknown }).name;
      const code = (err as { cause?: { code?: unknown } }).cause?.code;
      return {
        attempt,
        status: undefined,
        error: name === 'TimeoutError' ? 'timeout' : typeof code === 'string' ? code : 'error',
        durationMs: now() - started,
      };
    }
  }

  return {
    encode,
    async challenge(url) {
      const value = randomBytes(16).toString('hex');
      const target = new URL(url);
      target.searchParams.set('challenge', value);
      try {
        const res = await doFetch(target, { signal: AbortSignal.timeout(timeoutMs) });
        const body = await res.text();
        return {
          ok: res.status === 200 && body === value,
          status: res.status,
          challenge: value,
          body,
        };
      } catch {
        return { ok: false, status: undefined, challenge: value, body: '' };
      }
    },
    async deliver(url, event, o = {}) {
      const first = o.attempt ?? 1;
      const max = o.maxAttempts ?? 3;
      const attempts: AttemptResult[] = [];
      for (let n = first; n < first + max; n++) {
        const result = await attemptOnce(
          url,
          encode(event, { compress: o.compress, attempt: n }),
          n,
        );
        attempts.push(result);
        if (result.status !== undefined && result.status >= 200 && result.status < 300)
          return { delivered: true, attempts };
        if (n + 1 < first + max) {
          const wait = backoffMs(n);
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
      return { delivered: false, attempts };
    },
  };
}
