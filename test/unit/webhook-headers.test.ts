import { describe, expect, it } from 'vitest';
import {
  forwardRequestHeaders,
  forwardTarget,
  relayResponseHeaders,
} from '../../src/webhooks/headers.js';

describe('webhook forwarding headers and target', () => {
  it("keeps Nylas's headers as sent, less hop-by-hop ones and host", () => {
    const raw = [
      'Host',
      'sidecar.example.com',
      'Content-Type',
      'application/json',
      'X-Nylas-Signature',
      'ab'.repeat(32),
      'Content-Encoding',
      'gzip',
      'Connection',
      'keep-alive, X-Hop',
      'X-Hop',
      '1',
      'Transfer-Encoding',
      'chunked',
      'Expect',
      '100-continue',
      'X-Custom',
      'a',
      'X-Custom',
      'b',
    ];
    expect(forwardRequestHeaders(raw, 'keep-alive, X-Hop')).toEqual([
      'Content-Type',
      'application/json',
      'X-Nylas-Signature',
      'ab'.repeat(32),
      'Content-Encoding',
      'gzip',
      'X-Custom',
      'a',
      'X-Custom',
      'b',
    ]);
  });

  it("drops hop-by-hop headers from the app's answer", () => {
    expect(
      relayResponseHeaders({
        'content-type': 'text/plain',
        connection: 'close',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'x-app': 'yes',
      }),
    ).toEqual({ 'content-type': 'text/plain', 'x-app': 'yes' });
  });

  it("sends to the forward URL's path and query, with the delivery's query after it", () => {
    const base = new URL('http://app.internal:3000/hooks/nylas?token=t1');
    expect(forwardTarget(base, '/anything/else?challenge=abc%20d').href).toBe(
      'http://app.internal:3000/hooks/nylas?token=t1&challenge=abc%20d',
    );
    expect(forwardTarget(new URL('http://app/h'), '/x?challenge=1').href).toBe(
      'http://app/h?challenge=1',
    );
    expect(forwardTarget(base, '/x').href).toBe(base.href);
    // An absolute-form target cannot redirect the forward elsewhere.
    expect(forwardTarget(base, 'http://evil.example/steal?a=1').host).toBe('app.internal:3000');
  });
});
