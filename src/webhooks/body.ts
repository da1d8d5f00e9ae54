import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';

/** A delivery body as read: the bytes, or why there are none. */
export type BodyResult =
  | { ok: true; bytes: Buffer }
  /**
   * `too_large`: past the cap; `incomplete`: the sender went away or timed out mid-body; `busy`:
   * the listener's memory budget for bodies in flight is spent.
   */
  | { ok: false; reason: 'too_large' | 'incomplete' | 'busy' };

/**
 * Reads a request body up to `maxBytes`, keeping a copy (for the signature and the CloudEvent
 * fields) and, when `tee` is given, writing each chunk on as it arrives, with backpressure: the
 * app receives the bytes while Nylas is still sending them. Past the cap it stops reading and
 * resolves `too_large`; the caller answers 413 and cancels the tee. Never rejects.
 */
export function readBody(
  req: IncomingMessage,
  maxBytes: number,
  opts: {
    tee?: Writable | undefined;
    /** Claims memory for a chunk about to be kept; false when the budget is spent. */
    reserve?: (bytes: number) => boolean;
  } = {},
): Promise<BodyResult> {
  const { tee, reserve } = opts;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const resumeReq = () => {
      if (!done) req.resume();
    };
    const finish = (r: BodyResult) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onIncomplete);
      req.off('close', onClose);
      tee?.off('drain', resumeReq);
      tee?.off('close', resumeReq);
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        finish({ ok: false, reason: 'too_large' });
        return;
      }
      if (reserve && !reserve(chunk.length)) {
        req.pause();
        finish({ ok: false, reason: 'busy' });
        return;
      }
      chunks.push(chunk);
      if (tee && !tee.destroyed && !tee.write(chunk)) req.pause();
    };
    const onEnd = () => {
      if (tee && !tee.destroyed) tee.end();
      finish({ ok: true, bytes: Buffer.concat(chunks, size) });
    };
    const onIncomplete = () => finish({ ok: false, reason: 'incomplete' });
    const onClose = () => {
      if (!req.complete) onIncomplete();
    };
    tee?.on('drain', resumeReq);
    // A tee the forward gave up on never drains: keep reading so the copy still completes.
    tee?.on('close', resumeReq);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onIncomplete);
    req.on('close', onClose);
  });
}
