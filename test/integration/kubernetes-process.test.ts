// The manifests against the real program: each nylas-sidecar container that
// `kubectl kustomize deploy/kubernetes/overlays/production` builds is started as `node
// dist/src/main.js` with that container's environment (listen addresses moved to loopback port 0,
// Secrets filled in, the simulator standing in for Nylas), and must answer its probes, say its
// role on /metrics and do its job: the proxy forwards the app's calls to NYLAS_API_URI without a
// key of its own; the pollers instance has no proxy listener.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nylas } from '../../src/demo/nylas-sdk.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import type { K8sObject } from '../helpers/kubernetes-schema.js';
import { findKubectl, kustomizeBuild } from '../helpers/kustomize.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/process.js';
import { httpsGet } from '../helpers/https-get.js';
import { bcryptHash, makeTestPki, type TestPki } from '../helpers/tls.js';

const API_KEY = 'k8s-process-api-key-5d1e';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet: { path: string; scheme?: string };
}
interface Container {
  name: string;
  volumeMounts?: { name: string; mountPath: string }[];
  env?: EnvVar[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
interface DeploymentObject extends K8sObject {
  spec: { template: { spec: { containers: Container[]; initContainers?: Container[] } } };
}

/** The nylas-sidecar container of the Deployment whose sidecar has SIDECAR_ROLE=`role`. */
function sidecarOf(objs: K8sObject[], role: string): Container {
  const found = objs
    .filter((o): o is DeploymentObject => o.kind === 'Deployment')
    .flatMap((d) => [
      ...(d.spec.template.spec.initContainers ?? []),
      ...d.spec.template.spec.containers,
    ])
    .filter((c) => c.env?.some((e) => e.name === 'SIDECAR_ROLE' && e.value === role));
  expect(found, role).toHaveLength(1);
  return found[0]!;
}

/**
 * The container's environment as the kubelet would give it, with the Secret's values filled in;
 * its listen addresses are left out, so that the test helper puts them on loopback port 0.
 */
function envOf(c: Container, secrets: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.name === 'SIDECAR_LISTEN' || e.name === 'SIDECAR_ADMIN_LISTEN') continue;
    const ref = e.valueFrom?.secretKeyRef;
    const value = ref ? secrets[`${ref.name}/${ref.key}`] : e.value;
    if (value === undefined) throw new Error(`${c.name}: no value for ${e.name}`);
    env[e.name] = value;
  }
  return env;
}

const probePaths = (c: Container) =>
  [c.startupProbe, c.readinessProbe, c.livenessProbe].flatMap((p) => (p ? [p.httpGet.path] : []));

const kubectl = findKubectl();

describe.skipIf(!kubectl)('the production overlay run as processes', () => {
  let sim: Simulator;
  let objs: K8sObject[];
  const started: SidecarProcess[] = [];

  beforeAll(async () => {
    objs = await kustomizeBuild(kubectl!, 'overlays/production');
    sim = createSimulator({ apiKey: API_KEY, grants: 5 });
    await sim.start();
  });
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await sim?.stop();
  });

  async function start(role: string): Promise<{ c: Container; p: SidecarProcess }> {
    const c = sidecarOf(objs, role);
    const p = await startSidecarProcess({
      ...envOf(c, { 'nylas-api-key/NYLAS_API_KEY': API_KEY }),
      // Where the manifests leave Nylas's real addresses (the image's defaults).
      NYLAS_API_URI: sim.url,
      NYLAS_STATUS_PAGE_URL: sim.url,
    });
    started.push(p);
    return { c, p };
  }

  it('proxy sidecar: answers its probes, says its role, and forwards the app key to NYLAS_API_URI', async () => {
    const { c, p } = await start('proxy');
    expect(probePaths(c).length).toBe(3);
    for (const path of probePaths(c))
      expect((await fetch(`${p.adminUrl}${path}`)).status, path).toBe(200);
    const metrics = await (await fetch(`${p.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^nylas_sidecar_role\{role="proxy"\} 1$/m);
    // The app's SDK, as the example app's container is set up: its own key, apiUri the sidecar.
    const before = sim.stats.requests;
    const nylas = new Nylas({ apiKey: API_KEY, apiUri: p.proxyUrl });
    const grants = await nylas.grants.list();
    expect(grants.data.length).toBe(5);
    expect(sim.stats.requests).toBeGreaterThan(before);
  });

  it('pollers instance: answers its probes, says its role, and listens for no proxied calls', async () => {
    const { c, p } = await start('pollers');
    expect(probePaths(c).length).toBe(2);
    for (const path of probePaths(c))
      expect((await fetch(`${p.adminUrl}${path}`)).status, path).toBe(200);
    const metrics = await (await fetch(`${p.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^nylas_sidecar_role\{role="pollers"\} 1$/m);
    await expect(fetch(`${p.proxyUrl}/v3/grants`)).rejects.toThrow();
  });
});

describe.skipIf(!kubectl)('the secured overlay run as processes', () => {
  const PASSWORD = 'k8s-scrape-password-3f9a';
  let sim: Simulator;
  let objs: K8sObject[];
  const started: SidecarProcess[] = [];
  let pki: TestPki;
  let ca: string;

  beforeAll(async () => {
    pki = makeTestPki();
    ca = pki.pem(pki.caCert);
    objs = await kustomizeBuild(kubectl!, 'overlays/secured');
    sim = createSimulator({ apiKey: API_KEY, grants: 2 });
    await sim.start();
  });
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await sim?.stop();
  });

  /**
   * The Secret nylas-sidecar-web-config as the kubelet would project it: its three keys as files
   * of one directory, which stands in for the container's mount path.
   */
  function projectSecret(): string {
    const dir = mkdtempSync(join(tmpdir(), 'secured-'));
    writeFileSync(join(dir, 'tls.crt'), pki.pem(pki.serverCert));
    writeFileSync(join(dir, 'tls.key'), pki.pem(pki.serverKey));
    writeFileSync(
      join(dir, 'web-config.yml'),
      `tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prometheus: '${bcryptHash(PASSWORD)}'\n`,
    );
    return dir;
  }

  it.each(['proxy', 'pollers'])(
    '%s: probes answer over HTTPS without a credential, /metrics only with one',
    async (role) => {
      const c = sidecarOf(objs, role);
      const env = envOf(c, { 'nylas-api-key/NYLAS_API_KEY': API_KEY });
      const mount = c.volumeMounts!.find((m) =>
        env.SIDECAR_ADMIN_WEB_CONFIG!.startsWith(`${m.mountPath}/`),
      )!;
      const p = await startSidecarProcess({
        ...env,
        SIDECAR_ADMIN_WEB_CONFIG: env.SIDECAR_ADMIN_WEB_CONFIG!.replace(
          mount.mountPath,
          projectSecret(),
        ),
        NYLAS_API_URI: sim.url,
        NYLAS_STATUS_PAGE_URL: sim.url,
      });
      started.push(p);
      expect(p.adminUrl).toMatch(/^https:/);
      const probes = [c.startupProbe, c.readinessProbe, c.livenessProbe].filter(
        (x): x is Probe => x !== undefined,
      );
      expect(probes.length).toBeGreaterThanOrEqual(2);
      for (const probe of probes) {
        expect(probe.httpGet.scheme).toBe('HTTPS');
        expect((await httpsGet(`${p.adminUrl}${probe.httpGet.path}`, { ca })).status).toBe(200);
      }
      expect((await httpsGet(`${p.adminUrl}/metrics`, { ca })).status).toBe(401);
      expect((await httpsGet(`${p.adminUrl}/status`, { ca })).status).toBe(401);
      const m = await httpsGet(`${p.adminUrl}/metrics`, { ca, auth: `prometheus:${PASSWORD}` });
      expect(m.status).toBe(200);
      expect(m.body).toContain(`nylas_sidecar_role{role="${role}"} 1`);
    },
  );
});
