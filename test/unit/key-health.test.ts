import { describe, expect, it } from 'vitest';
import { createKeyHealth, type UpstreamErrorRecord } from '../../src/credentials/index.js';

function harness() {
  let t = 1_000_000;
  const key: string[] = [];
  const grant: string[] = [];
  const kh = createKeyHealth({
    now: () => t,
    secret: Buffer.from('test-secret'),
    onKeyFailure: (s) => key.push(s),
    onGrantFailure: (r) => grant.push(r),
  });
  const record = (grantId: string): UpstreamErrorRecord => ({
    time: t,
    method: 'GET',
    route: '/v3/grants/{grant_id}/messages',
    code: 401,
    errorType: 'unauthorized',
    requestId: undefined,
    grantId,
  });
  const unauthorized = (credential: string, grantId: string) => {
    const rec = record(grantId);
    kh.proxyUnauthorized({
      credential,
      route: rec.route,
      grantId,
      grantScoped: true,
      record: rec,
    });
    return rec;
  };
  return {
    kh,
    key,
    grant,
    unauthorized,
    advance: (ms: number) => (t += ms),
  };
}

describe('key health', () => {
  it('blames the key when many grants fail for seconds with no success', () => {
    const h = harness();
    const recs = ['g1', 'g2', 'g3'].map((g) => h.unauthorized('Bearer wrong', g));
    expect(h.key).toEqual([]);
    h.advance(6_000);
    h.kh.sweep();
    expect(h.key).toHaveLength(3);
    expect(h.grant).toEqual([]);
    expect(recs.map((r) => r.blame)).toEqual(['key', 'key', 'key']);
    // Later 401s from the same credential go straight to the key.
    h.unauthorized('Bearer wrong', 'g4');
    expect(h.key).toHaveLength(4);
    expect(h.kh.problems()).toMatchObject([{ grants: 4, failures: 4, source: 'proxy' }]);
  });

  it('a burst of invalid grants followed by a success stays the grants’', () => {
    const h = harness();
    const recs = ['g1', 'g2', 'g3', 'g4'].map((g) => h.unauthorized('Bearer good', g));
    h.advance(200);
    h.kh.proxyAuthenticated('Bearer good');
    expect(h.grant).toHaveLength(4);
    expect(h.key).toEqual([]);
    expect(recs.every((r) => r.blame === 'grant')).toBe(true);
    expect(h.kh.problems()).toEqual([]);
  });

  it('one grant failing alone settles as the grant’s after a minute', () => {
    const h = harness();
    h.unauthorized('Bearer good', 'g1');
    h.advance(59_000);
    h.kh.sweep();
    expect(h.grant).toEqual([]);
    h.advance(2_000);
    h.kh.sweep();
    expect(h.grant).toHaveLength(1);
  });

  it('a success from another credential does not clear a wrong key', () => {
    const h = harness();
    ['g1', 'g2', 'g3'].forEach((g) => h.unauthorized('Bearer wrong', g));
    h.kh.proxyAuthenticated('Bearer other');
    h.advance(5_000);
    h.kh.sweep();
    expect(h.key).toHaveLength(3);
  });

  it('fingerprints are a keyed hash: short, stable per secret, never the key', () => {
    const h = harness();
    const fp = h.kh.fingerprint('Bearer nyk_secret_value');
    expect(fp).toMatch(/^[0-9a-f]{8}$/);
    expect(fp).toBe(h.kh.fingerprint('Bearer nyk_secret_value'));
    const other = createKeyHealth({ onKeyFailure: () => {}, onGrantFailure: () => {} });
    expect(other.fingerprint('Bearer nyk_secret_value')).not.toBe(fp);
  });
});
