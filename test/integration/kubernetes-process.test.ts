// The manifests against the real program: each nylas-sidecar container that
// `kubectl kustomize deploy/kubernetes/overlays/production` builds is started as `node
// dist/src/main.js` with that container's environment (listen addresses moved to loopback port 0,
// Secrets filled in, the simulator standing in for Nylas), and must answer its probes, say its
// role on /metrics and do its job: the proxy forwards the app's calls to NYLAS_API_URI without a
// key of its own; the pollers instance has no proxy listener.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Nylas } from '../../src/demo/nylas-sdk.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import type { K8sObject } from '../helpers/kubernetes-schema.js';
import { findKubectl, kustomizeBuild } from '../helpers/kustomize.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/process.js';

const API_KEY = 'k8s-process-api-key-5d1e';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet: { path: string };
}
interface Container {
  name: string;
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
