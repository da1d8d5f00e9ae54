// A proxy listener on every interface is allowed (a pod's containers reach it on the pod IP), but
// the proxy forwards the app's credentials: it is said once, at start, naming the setting.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

let sc: TestSidecar | undefined;
afterEach(async () => {
  await sc?.stop();
  sc = undefined;
});

const warnings = (logs: string[]) =>
  logs
    .map((l) => JSON.parse(l) as { event?: string; msg?: string; address?: string })
    .filter((l) => l.event === 'proxy_not_loopback');

describe('a proxy bound beyond loopback', () => {
  it('is warned about once at start, naming SIDECAR_LISTEN and the address', async () => {
    sc = await startTestSidecar({ SIDECAR_LISTEN: ':0' });
    const w = warnings(sc.logs);
    expect(w).toHaveLength(1);
    expect(w[0]!.address).toBe('0.0.0.0:0');
    expect(w[0]!.msg).toContain('SIDECAR_LISTEN=0.0.0.0:0');
    // Requests do not repeat it.
    await fetch(`${sc.urls.proxy}/v3/grants`).catch(() => undefined);
    expect(warnings(sc.logs)).toHaveLength(1);
  });

  it('is not warned about on loopback', async () => {
    sc = await startTestSidecar({ SIDECAR_LISTEN: '127.0.0.1:0' });
    expect(warnings(sc.logs)).toEqual([]);
  });
});
