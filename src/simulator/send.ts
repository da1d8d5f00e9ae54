// Sends and draft creation: JSON bodies, and multipart bodies read as a stream (counted, never
// held whole: only the first part, the `message` JSON, is kept).
import type { IncomingMessage } from 'node:http';
import { BadRequest, isRecord, readJson } from './http.js';

/** Largest JSON send body accepted (the SDK switches to multipart at 3 MiB of attachments; base64 adds a third). */
const JSON_LIMIT = 8 * 1024 * 1024;
/** How much of a multipart body is kept to find the `message` part. */
const HEAD_LIMIT = 1024 * 1024;

export interface ParsedSend {
  message: Record<string, unknown>;
  multipart: boolean;
  bytes: number;
  /** Filenames of the attachment parts (multipart) or of `attachments[]` (JSON). */
  attachments: string[];
}

/** Reads a send or draft body of either kind. */
export async function readSendBody(req: IncomingMessage): Promise<ParsedSend> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) {
    const body = await readJson(req, JSON_LIMIT);
    if (!isRecord(body)) throw new BadRequest('the request body must be a JSON object');
    const atts = Array.isArray(body.attachments) ? body.attachments : [];
    return {
      message: body,
      multipart: false,
      bytes: Number(req.headers['content-length'] ?? 0),
      attachments: atts.map((a) =>
        isRecord(a) ? (typeof a.filename === 'string' ? a.filename : 'attachment') : 'attachment',
      ),
    };
  }
  const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
  if (!boundary) throw new BadRequest('multipart/form-data without a boundary');
  const head: Buffer[] = [];
  let headSize = 0;
  let bytes = 0;
  const attachments: string[] = [];
  // Filenames are found by scanning each chunk plus the tail of the previous one, so a header
  // split across chunks is still seen; the scan keeps only that small tail.
  let carry = '';
  const FN = /filename="([^"]*)"/g;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (headSize < HEAD_LIMIT) {
      head.push(chunk.subarray(0, HEAD_LIMIT - headSize));
      headSize += Math.min(chunk.length, HEAD_LIMIT - headSize);
    }
    const text = carry + chunk.toString('latin1');
    const scanFrom = carry.length;
    for (const m of text.matchAll(FN))
      if (m.index + m[0].length > scanFrom) attachments.push(m[1]!);
    carry = text.slice(-512);
  }
  const headText = Buffer.concat(head).toString('utf8');
  const m = new RegExp(
    `name="message"[^\\r\\n]*\\r\\n(?:[^\\r\\n]+\\r\\n)*\\r\\n([\\s\\S]*?)\\r\\n--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
  ).exec(headText);
  if (!m) throw new BadRequest('multipart send needs a "message" part with the message JSON first');
  let message: unknown;
  try {
    message = JSON.parse(m[1]!);
  } catch {
    throw new BadRequest('the "message" part is not valid JSON');
  }
  if (!isRecord(message)) throw new BadRequest('the "message" part must be a JSON object');
  return { message, multipart: true, bytes, attachments };
}
