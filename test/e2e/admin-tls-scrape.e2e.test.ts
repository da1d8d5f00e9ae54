// A real Prometheus scrapes the sidecar's admin listener over TLS with basic auth, as the
// `secured` overlay's PodMonitor does: the target is up; after the sidecar's password changes
// (a new web config and SIGHUP) the same target is down with a 401.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsGet } from '../helpers/https-get.js';
import { parseMetrics, total } from '../helpers/metrics.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/process.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { makeTestPki, tlsBasicAuthWebConfig, type TestPki } from '../helpers/tls.js';

const PASSWORD = 'CANARYscrapepassword4d6f8a0c2e';
const OTHER = 'CANARYotherpassword7e9a1c3b5d';

interface Target {
  health: string;
  lastError: string;
  scrapeUrl: string;
}

describe('Prometheus scraping the admin listener over TLS with basic auth', () => {
  let pki: TestPki;
  let webConfig: string;
  let sidecar: SidecarProcess;
  let stack: Stack;

  const writeUsers = (password: string) =>
    writeFileSync(webConfig, tlsBasicAuthWebConfig(pki, { prometheus: password }));

  beforeAll(async () => {
    pki = makeTestPki();
    webConfig = join(pki.dir, 'web-config.yml');
    writeUsers(PASSWORD);
    sidecar = await startSidecarProcess({
      SIDECAR_ROLE: 'proxy',
      NYLAS_API_KEY: 'CANARYapikeyscrape1b3d5f7a9c',
      SIDECAR_ADMIN_WEB_CONFIG: webConfig,
    });
    stack = await startStack({
      scrapeTargets: [`${sidecar.adminUrl}/metrics`],
      scrapeAuth: { caFile: pki.caCert, username: 'prometheus', password: PASSWORD },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await sidecar?.stop();
  });

  const target = async (): Promise<Target | undefined> => {
    const r = await fetch(`${stack.promUrl}/api/v1/targets?state=active`);
    const body = (await r.json()) as { data: { activeTargets: Target[] } };
    return body.data.activeTargets[0];
  };

  it('is up over https with the right password', async () => {
    expect(sidecar.adminUrl).toMatch(/^https:/);
    const t = await stack.waitFor(async () => {
      const t = await target();
      return t?.health === 'up' ? t : undefined;
    });
    expect(t.scrapeUrl).toBe(`${sidecar.adminUrl}/metrics`);
    expect(t.lastError).toBe('');
    const build = await stack.query('nylas_sidecar_build_info');
    expect(build).toHaveLength(1);
  });

  it('is down with a 401 once the sidecar takes another password on SIGHUP', async () => {
    writeUsers(OTHER);
    sidecar.child.kill('SIGHUP');
    const t = await stack.waitFor(async () => {
      const t = await target();
      return t?.health === 'down' ? t : undefined;
    });
    expect(t.lastError).toContain('401');
    // Prometheus's refused scrapes are counted by the sidecar, which stays up.
    const scrape = await httpsGet(`${sidecar.adminUrl}/metrics`, {
      ca: pki.pem(pki.caCert),
      auth: `prometheus:${OTHER}`,
    });
    expect(scrape.status).toBe(200);
    expect(
      total(parseMetrics(scrape.body), 'nylas_sidecar_admin_auth_failures_total', {
        reason: 'invalid',
      }),
    ).toBeGreaterThan(0);
    const out = [...sidecar.stdout, ...sidecar.stderr].join('\n');
    expect(out).toContain('"event":"web_config_reloaded"');
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toContain(OTHER);
    expect(sidecar.child.exitCode).toBeNull();
  });
});
