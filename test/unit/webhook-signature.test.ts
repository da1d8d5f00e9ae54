import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkSignature } from '../../src/webhooks/signature.js';

const body = Buffer.from('{"type":"message.created","id":"n1","time":1}');
const sig = (secret: string, b: Buffer = body) =>
  createHmac('sha256', secret).update(b).digest('hex');

describe('X-Nylas-Signature check', () => {
  it('accepts the hex HMAC-SHA256 of the raw body under the configured secret', () => {
    expect(checkSignature(body, sig('s1'), ['s1'])).toBe('valid');
  });

  it('accepts a signature made with any of several secrets (rotation)', () => {
    expect(checkSignature(body, sig('new'), ['old', 'new'])).toBe('valid');
    expect(checkSignature(body, sig('old'), ['old', 'new'])).toBe('valid');
    expect(checkSignature(body, sig('retired'), ['old', 'new'])).toBe('mismatch');
  });

  it('rejects a signature over other bytes, such as re-serialised JSON', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
    expect(checkSignature(body, sig('s1', reserialised), ['s1'])).toBe('mismatch');
  });

  it('checks a compressed body on its gzip bytes, not the inflated JSON', () => {
    const gz = gzipSync(body);
    expect(checkSignature(gz, sig('s1', gz), ['s1'])).toBe('valid');
    expect(checkSignature(gz, sig('s1', body), ['s1'])).toBe('mismatch');
  });

  it('tells a missing header and a value that is not a hex digest apart from a mismatch', () => {
    expect(checkSignature(body, undefined, ['s1'])).toBe('missing');
    expect(checkSignature(body, '  ', ['s1'])).toBe('missing');
    expect(checkSignature(body, 'sha256=abc', ['s1'])).toBe('not_hex');
    expect(checkSignature(body, sig('s1').slice(2), ['s1'])).toBe('not_hex');
    expect(checkSignature(body, `${sig('s1')}00`, ['s1'])).toBe('not_hex');
  });

  it('accepts the digest in upper case and with surrounding spaces', () => {
    expect(checkSignature(body, ` ${sig('s1').toUpperCase()} `, ['s1'])).toBe('valid');
  });

  it('never matches when no secret is configured', () => {
    expect(checkSignature(body, sig('s1'), [])).toBe('mismatch');
  });
});
