import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanKind } from '@opentelemetry/api';
import type { ListenerContext } from './context.js';
import { ForwardAbort, forwardToApp, statusClass } from './forward.js';
import { firstHeader, forwardRequestHeaders, forwardTarget } from './headers.js';

/** Who answered a challenge: the `outcome` label of nylas_webhook_challenges_total. */
export type ChallengeOutcome = 'app_answered' | 'sidecar_answered';

/**
 * Answers Nylas's `GET ?challenge=<value>` handshake (sent when a destination is created or
 * re-activated; it must get 200 with exactly the value as the raw body within 10 s). The GET goes
 * to the app first; when the app answers 200 with exactly the value within the challenge
 * deadline (5 s, well inside Nylas's 10 s), the app answered it. Otherwise (other status, other
 * body, too slow, unreachable) the listener answers it itself, so a destination can be activated
 * while the app is down or does not implement the handshake. Either way Nylas gets the same
 * answer; the counter tells them apart.
 */
export async function handleChallenge(
  ctx: ListenerContext,
  req: IncomingMessage,
  res: ServerResponse,
  value: string,
): Promise<void> {
  const span = ctx.tracer.startSpan('webhook challenge', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'GET' },
  });
  // A GET body means nothing here; read it away so the connection can be reused.
  req.resume();
  const ctl = new AbortController();
  const timer = setTimeout(
    () => ctl.abort(new ForwardAbort('deadline')),
    ctx.timings.challengeDeadlineMs,
  );
  const onShutdown = () => ctl.abort(new ForwardAbort('cancelled'));
  ctx.shutdown.addEventListener('abort', onShutdown, { once: true });
  let appStatus: number | undefined;
  let echoed = false;
  try {
    const r = await forwardToApp({
      url: forwardTarget(ctx.forwardUrl, req.url),
      method: 'GET',
      headers: forwardRequestHeaders(req.rawHeaders, firstHeader(req.headers.connection)),
      body: undefined,
      signal: ctl.signal,
      dispatcher: ctx.dispatcher,
      clock: ctx.clock,
    });
    if (r.kind === 'response') {
      appStatus = r.status;
      const expected = Buffer.from(value, 'utf8');
      // One byte more than the value is enough to tell a longer answer from the exact one.
      const got = await readAtMost(r.body, expected.length + 1).catch(() => undefined);
      echoed = r.status === 200 && got !== undefined && got.equals(expected);
    }
  } finally {
    clearTimeout(timer);
    ctx.shutdown.removeEventListener('abort', onShutdown);
  }
  const outcome: ChallengeOutcome = echoed ? 'app_answered' : 'sidecar_answered';
  ctx.metrics.webhookChallenges.inc({ outcome });
  if (!res.headersSent && !res.destroyed) {
    const body = Buffer.from(value, 'utf8');
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': body.length,
    });
    res.end(body);
  }
  span.setAttributes({
    'http.response.status_code': 200,
    'nylas.webhook.challenge_outcome': outcome,
    'nylas.webhook.app_status_class': statusClass(appStatus),
  });
  span.end();
  // The challenge value is not logged: it is a one-time token of Nylas's handshake.
  ctx.logger.info(
    { event: 'webhook_challenge', outcome, app_status: appStatus },
    echoed
      ? 'webhook challenge answered by the app'
      : 'webhook challenge answered by the sidecar (the app did not echo it in time)',
  );
}

/** Reads up to `limit` bytes of a body, then stops reading it. */
async function readAtMost(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks, size);
}
