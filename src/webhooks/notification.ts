import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { readBody } from './body.js';
import { isGrantHealthTrigger } from '../credentials/index.js';
import { grantProvider } from '../pollers/labels.js';
import {
  attemptLabel,
  parseNotification,
  type NotificationEnvelope,
  type ParseResult,
} from './cloudevent.js';
import { sendListenerError, type ListenerContext } from './context.js';
import { errorCode, ForwardAbort, forwardToApp, statusClass } from './forward.js';
import {
  firstHeader,
  forwardRequestHeaders,
  forwardTarget,
  relayResponseHeaders,
} from './headers.js';
import { checkSignature, type SignatureResult } from './signature.js';
import { OTHER_TRIGGER, triggerLabel } from './triggers.js';

/**
 * The outcome of one notification, the `outcome` label. One per delivery; when several apply the
 * first of this order wins, because it is the one to act on:
 * - `bad_signature`: no configured secret signed it (enforce: 401, not forwarded; observe:
 *   forwarded anyway). Its forward result is not counted: it is probably not from Nylas.
 * - `forward_failed`: Nylas records this attempt as failed: the app did not answer within 9 s
 *   (504), could not be reached (502), or answered with a non-2xx status (passed on); or the
 *   listener's memory budget for bodies in flight was spent (503, trigger `other`). This is what
 *   turns a destination `failing` at Nylas.
 * - `malformed`: not a CloudEvent with `id`, `type` and `time` (not JSON, bad gzip, fields missing),
 *   or a body that never arrived whole (over 2 MB: 413; the sender went away or timed out). A
 *   malformed body that is correctly signed (or arrives with verification off) IS forwarded and
 *   the app's answer passed on: it comes from Nylas, and the app, not the sidecar, decides what to
 *   do with a payload the sidecar does not understand (a new envelope, a v2-style payload).
 *   Rejecting it would make Nylas retry it and count failures against the destination.
 * - `duplicate`: a notification `id` the app already acknowledged (2xx) within the dedupe window
 *   (the last 10,000 ids, up to 1 h). Still forwarded: delivery is at-least-once and the app is the
 *   one that dedupes (Nylas's advice); this count shows how often it has to. A retry of a
 *   notification the app failed is not a duplicate (the attempt counter shows retries).
 * - `forwarded`: the app answered 2xx in time.
 */
export type NotificationOutcome =
  'bad_signature' | 'forward_failed' | 'malformed' | 'duplicate' | 'forwarded';

/** What Nylas was answered: the app's status, or the listener's own. */
interface Answer {
  status: number;
  by: 'app' | 'listener' | 'nobody';
  /** Why the listener answered itself. */
  reason?: 'app_timeout' | 'app_unreachable';
}

/** A forward in progress: when Nylas is answered, and when the app's response is over. */
interface Forwarding {
  answered: Promise<Answer>;
  done: Promise<void>;
  cancel(): void;
}

const isGzip = (v: string | string[] | undefined) =>
  (firstHeader(v) ?? '').split(',').some((t) => t.trim().toLowerCase() === 'gzip');

function declaredLength(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

/**
 * Handles one POST notification: verify, measure, forward, answer Nylas.
 *
 * In `enforce` mode the body is read whole before anything is forwarded: the signature has to be
 * checked before the app sees a byte, and HMAC needs every byte. That buffers at most 2 MB per
 * delivery (Nylas caps payloads at 1 MB, larger bodies get 413), which is acceptable. In
 * `observe` and `off` modes the body streams to the app as it arrives, with a bounded copy kept
 * for the signature and the CloudEvent fields.
 */
export async function handleNotification(
  ctx: ListenerContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const receivedAt = ctx.now();
  const receivedClock = ctx.clock();
  const span = ctx.tracer.startSpan('webhook notification', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'POST',
      'nylas.webhook.verify': ctx.config.webhook.verify,
    },
  });
  let held = 0;
  const reserve = (bytes: number) => {
    if (!ctx.bodyBudget.take(bytes)) return false;
    held += bytes;
    return true;
  };
  try {
    await deliver(ctx, req, res, { receivedAt, receivedClock, span, reserve });
  } finally {
    ctx.bodyBudget.give(held);
    if (res.headersSent) span.setAttribute('http.response.status_code', res.statusCode);
    span.end();
  }
}

interface DeliveryState {
  /** Claims body memory from the listener's budget; given back when the delivery ends. */
  reserve: (bytes: number) => boolean;
  receivedAt: number;
  receivedClock: number;
  span: Span;
}

async function deliver(
  ctx: ListenerContext,
  req: IncomingMessage,
  res: ServerResponse,
  st: DeliveryState,
): Promise<void> {
  const mode = ctx.config.webhook.verify;
  const gzipped = isGzip(req.headers['content-encoding']);
  const signatureHeader = firstHeader(req.headers['x-nylas-signature']);
  const declared = declaredLength(req.headers['content-length']);

  if (declared !== undefined && declared > ctx.maxBodyBytes) {
    tooLarge(res);
    // Unread bytes may follow; the connection closes after the 413 (Connection: close).
    req.resume();
    record(ctx, st, { trigger: OTHER_TRIGGER, outcome: 'malformed', detail: 'too_large' });
    return;
  }

  let forwarding: Forwarding | undefined;
  let tee: PassThrough | undefined;
  if (mode !== 'enforce') {
    tee = new PassThrough();
    // The tee fails only when the forward does; that failure is the forward's result (502/504,
    // forward_failed), so the stream's own error event has nothing to add.
    tee.on('error', () => undefined);
    forwarding = startForward(ctx, req, res, tee, st);
  }
  const body = await readBody(req, ctx.maxBodyBytes, { tee, reserve: st.reserve });
  if (!body.ok) {
    forwarding?.cancel();
    tee?.destroy();
    if (body.reason === 'too_large') tooLarge(res);
    if (body.reason === 'busy') {
      // Nylas retries a 503 later; the app never saw a complete delivery.
      sendListenerError(
        res,
        503,
        'sidecar.webhook_listener_busy',
        'The webhook listener is holding too many bodies at once; retry later.',
        { connection: 'close', 'retry-after': '5' },
      );
      req.resume();
      if (forwarding) ctx.track(forwarding.done);
      record(ctx, st, { trigger: OTHER_TRIGGER, outcome: 'forward_failed', detail: 'busy' });
      return;
    }
    // `incomplete`: a timed-out sender got 408 from the clientError handler; one that left, nothing.
    if (forwarding) ctx.track(forwarding.done);
    record(ctx, st, { trigger: OTHER_TRIGGER, outcome: 'malformed', detail: body.reason });
    return;
  }

  const signature: SignatureResult | 'not_checked' =
    mode === 'off'
      ? 'not_checked'
      : checkSignature(body.bytes, signatureHeader, ctx.config.nylas.webhookSecrets);
  const parsed = await parseNotification(body.bytes, gzipped);
  const trigger = triggerLabel(parsed.ok ? parsed.envelope.type : parsed.type);
  const trusted = signature === 'valid' || signature === 'not_checked';
  st.span.setAttribute('nylas.webhook.signature', signature);

  if (!trusted && mode === 'enforce') {
    sendListenerError(
      res,
      401,
      'sidecar.webhook_bad_signature',
      'X-Nylas-Signature does not match any configured webhook secret.',
    );
    record(ctx, st, { trigger, outcome: 'bad_signature', detail: signature });
    return;
  }

  // Delivery facts are recorded only for notifications that are Nylas's (verified, or verification
  // off): a forged body must not move the lag, attempt or last-seen series.
  let duplicate = false;
  if (parsed.ok && trusted) {
    duplicate = ctx.dedupe.has(parsed.envelope.id);
    measureDelivery(ctx, st, parsed, trigger);
    // Only a verified signature may change grant health: a forged grant.expired must not page.
    if (signature === 'valid') learnGrantHealth(ctx, parsed.envelope);
  }

  forwarding ??= startForward(ctx, req, res, body.bytes, st);
  ctx.track(forwarding.done);
  const answer = await forwarding.answered;
  const acknowledged = answer.by === 'app' && answer.status >= 200 && answer.status < 300;
  if (acknowledged && trusted && parsed.ok) ctx.dedupe.remember(parsed.envelope.id);

  const outcome: NotificationOutcome = !trusted
    ? 'bad_signature'
    : !acknowledged
      ? 'forward_failed'
      : !parsed.ok
        ? 'malformed'
        : duplicate
          ? 'duplicate'
          : 'forwarded';
  const detail =
    outcome === 'bad_signature'
      ? signature
      : outcome === 'forward_failed'
        ? (answer.reason ?? `app_status_${statusClass(answer.status)}`)
        : outcome === 'malformed' && !parsed.ok
          ? parsed.reason
          : undefined;
  record(ctx, st, {
    trigger,
    outcome,
    detail,
    status: answer.status,
    id: parsed.ok && trusted ? parsed.envelope.id : undefined,
  });
  // The span lasts until the app's response is over, past a 504 to Nylas.
  await forwarding.done;
}

/** A verified grant.* notification updates nylas_grant_invalid{source="notification"} at once. */
function learnGrantHealth(ctx: ListenerContext, envelope: NotificationEnvelope): void {
  const { grant, type } = envelope;
  if (!ctx.grantHealth || !grant || !isGrantHealthTrigger(type)) return;
  ctx.grantHealth.notify({
    grantId: grant.grantId,
    provider: grantProvider(grant.provider ?? 'unknown'),
    trigger: type,
    eventTime: envelope.time,
  });
}

function tooLarge(res: ServerResponse) {
  sendListenerError(
    res,
    413,
    'sidecar.webhook_body_too_large',
    'The notification body is larger than 2 MB (Nylas caps payloads at 1 MB).',
    { connection: 'close' },
  );
}

function measureDelivery(
  ctx: ListenerContext,
  st: DeliveryState,
  parsed: Extract<ParseResult, { ok: true }>,
  trigger: string,
) {
  const { envelope } = parsed;
  const receivedSeconds = st.receivedAt / 1000;
  // A sender clock ahead of ours would give a negative lag; it is no lag at all.
  ctx.metrics.webhookDeliveryLag.observe(Math.max(0, receivedSeconds - envelope.time));
  ctx.metrics.webhookLastNotification.set({ trigger }, receivedSeconds);
  if (envelope.attempt !== undefined) {
    ctx.metrics.webhookDeliveryAttempts.inc({ trigger, attempt: attemptLabel(envelope.attempt) });
    st.span.setAttribute('nylas.webhook.delivery_attempt', envelope.attempt);
  }
}

function record(
  ctx: ListenerContext,
  st: DeliveryState,
  r: {
    trigger: string;
    outcome: NotificationOutcome;
    detail?: string | undefined;
    status?: number;
    id?: string | undefined;
  },
) {
  ctx.metrics.webhookNotifications.inc({ trigger: r.trigger, outcome: r.outcome });
  st.span.setAttributes({ 'nylas.webhook.trigger': r.trigger, 'nylas.webhook.outcome': r.outcome });
  if (r.id !== undefined) st.span.setAttribute('nylas.webhook.notification_id', r.id.slice(0, 128));
  const failed = r.outcome !== 'forwarded' && r.outcome !== 'duplicate';
  if (failed) st.span.setStatus({ code: SpanStatusCode.ERROR, message: r.outcome });
  // Allow-listed fields only: no body, no signature, no secret, no query string.
  const line = {
    event: 'webhook_notification',
    trigger: r.trigger,
    outcome: r.outcome,
    reason: r.detail,
    status: r.status,
    notification_id: r.id?.slice(0, 128),
  };
  if (failed) ctx.logger.warn(line, `webhook notification ${r.outcome}`);
  else ctx.logger.debug(line, `webhook notification ${r.outcome}`);
}

/**
 * Starts forwarding a delivery to the app and answering Nylas with the app's response (status,
 * headers less hop-by-hop, body streamed); 504 when the app has not answered by the answer
 * deadline, 502 when it cannot be reached. After a 504 the forward keeps going (up to the
 * observation deadline) so the app's real response time is measured, then its body is dropped.
 */
function startForward(
  ctx: ListenerContext,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer | Readable,
  st: DeliveryState,
): Forwarding {
  const ctl = new AbortController();
  const abort = (code: ForwardAbort['code']) => {
    if (!ctl.signal.aborted) ctl.abort(new ForwardAbort(code));
  };
  const onShutdown = () => abort('cancelled');
  ctx.shutdown.addEventListener('abort', onShutdown, { once: true });
  const observeTimer = setTimeout(() => abort('deadline'), ctx.timings.observeDeadlineMs);

  let settle!: (a: Answer) => void;
  let answer: Answer | undefined;
  const answered = new Promise<Answer>((resolve) => (settle = resolve));
  const answerOnce = (a: Answer, send: () => void) => {
    if (answer) return false;
    answer = a;
    send();
    settle(a);
    return true;
  };
  const remaining = ctx.timings.answerDeadlineMs - (ctx.clock() - st.receivedClock);
  const answerTimer = setTimeout(
    () =>
      answerOnce({ status: 504, by: 'listener', reason: 'app_timeout' }, () =>
        sendListenerError(
          res,
          504,
          'sidecar.webhook_app_timeout',
          "The app's webhook endpoint did not answer within 9 seconds.",
        ),
      ),
    Math.max(0, remaining),
  );

  const done = forwardToApp({
    url: forwardTarget(ctx.forwardUrl, req.url),
    method: 'POST',
    headers: forwardRequestHeaders(req.rawHeaders, firstHeader(req.headers.connection)),
    body,
    signal: ctl.signal,
    dispatcher: ctx.dispatcher,
    clock: ctx.clock,
  })
    .then(async (r) => {
      clearTimeout(answerTimer);
      if (r.kind === 'error' && r.reason === 'cancelled') {
        if (!Buffer.isBuffer(body)) body.destroy();
        answerOnce({ status: 0, by: 'nobody' }, () => undefined);
        return;
      }
      ctx.metrics.webhookForwardDuration.observe(
        { status_class: statusClass(r.kind === 'response' ? r.status : undefined) },
        r.seconds,
      );
      st.span.addEvent('app answered', {
        'nylas.webhook.app_status_class': statusClass(r.kind === 'response' ? r.status : undefined),
      });
      if (r.kind === 'error') {
        // A body stream nobody reads any more must not hold the sender's upload paused.
        if (!Buffer.isBuffer(body)) body.destroy();
        const timedOut = r.reason === 'deadline';
        if (!timedOut)
          ctx.logger.warn(
            { event: 'webhook_forward_error', code: errorCode(r.cause) },
            "cannot reach the app's webhook endpoint",
          );
        const a: Answer = timedOut
          ? { status: 504, by: 'listener', reason: 'app_timeout' }
          : { status: 502, by: 'listener', reason: 'app_unreachable' };
        answerOnce(a, () =>
          sendListenerError(
            res,
            a.status,
            timedOut ? 'sidecar.webhook_app_timeout' : 'sidecar.webhook_app_unavailable',
            timedOut
              ? "The app's webhook endpoint did not answer in time."
              : "The app's webhook endpoint cannot be reached.",
          ),
        );
        return;
      }
      const relayed = answerOnce({ status: r.status, by: 'app' }, () => {
        if (res.headersSent || res.destroyed) return;
        res.writeHead(r.status, relayResponseHeaders(r.headers));
      });
      if (relayed && !res.destroyed) {
        await new Promise<void>((resolve) => pipeline(r.body, res, () => resolve()));
      } else {
        // Nylas already has its answer (504): drop the late body, keep the connection pool clean.
        await r.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      }
    })
    .finally(() => {
      clearTimeout(observeTimer);
      clearTimeout(answerTimer);
      ctx.shutdown.removeEventListener('abort', onShutdown);
    });

  return { answered, done, cancel: () => abort('cancelled') };
}
