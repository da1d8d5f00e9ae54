import { createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 digests are 32 bytes: 64 hex characters in the header. */
const DIGEST_BYTES = 32;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

/** Why a signature check failed; never includes the secret or the expected digest. */
export type SignatureResult = 'valid' | 'missing' | 'not_hex' | 'mismatch';

/**
 * Checks an `X-Nylas-Signature` value (hex HMAC-SHA256 of the exact raw body; for a compressed
 * delivery, of the gzip bytes) against every configured secret, so a destination's secret can be
 * rotated by listing old and new for a while. The comparison is constant-time: both sides are
 * 32-byte buffers given to timingSafeEqual, and every secret is tried whether or not an earlier
 * one matched.
 */
export function checkSignature(
  body: Buffer,
  header: string | undefined,
  secrets: readonly string[],
): SignatureResult {
  if (header === undefined || header.trim() === '') return 'missing';
  const value = header.trim();
  if (!HEX_DIGEST.test(value)) return 'not_hex';
  const given = Buffer.from(value, 'hex');
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    if (expected.length === DIGEST_BYTES && timingSafeEqual(expected, given)) ok = true;
  }
  return ok ? 'valid' : 'mismatch';
}
