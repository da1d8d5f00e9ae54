// The Kubernetes packaging in deploy/kubernetes/: every kustomization builds with the real
// `kubectl kustomize` (Debian's kubernetes-client: kustomize v2.0.3; newer kubectl: v5), every
// object it builds validates against its schema (unknown fields included), the objects that
// repeat alerts/ and dashboards/ are exactly what the generators write, and the settings that
// make the topology work (native sidecar, loopback proxy, one pollers instance, the key from a
// Secret) are what the manifests say.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  PROMETHEUS_RULE_FILE,
  renderPrometheusRule,
} from '../../scripts/alerts/prometheus-rule.mjs';
import {
  CONFIGMAPS_FILE,
  renderDashboardConfigMaps,
} from '../../scripts/dashboards/configmaps.mjs';
import { DASHBOARDS_DIR, renderDashboards } from '../../scripts/dashboards/generate.mjs';
import { type K8sObject, validateObject } from '../helpers/kubernetes-schema.js';
import { findKubectl, K8S_DIR, kustomizeBuild } from '../helpers/kustomize.js';

const ROOT = join(import.meta.dirname, '..', '..');
const K8S = K8S_DIR;
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** Fields kustomize v2.0.3 (kubectl 1.14 to 1.20, Debian bookworm's kubernetes-client) knows. */
const KUSTOMIZE_V2_FIELDS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'namePrefix',
  'nameSuffix',
  'commonLabels',
  'commonAnnotations',
  'resources',
  'bases',
  'images',
  'patchesStrategicMerge',
  'patchesJson6902',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
  'vars',
  'crds',
]);

// Undefined only when kubectl is missing and not installable: the builds are skipped, and say so.
const kubectl = findKubectl();

/** Every directory under deploy/kubernetes that holds a kustomization.yaml. */
function kustomizations(dir = K8S): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...kustomizations(path));
    else if (entry.name === 'kustomization.yaml') found.push(relative(K8S, dir));
  }
  return found.sort();
}
const KUSTOMIZATIONS = kustomizations();
const OVERLAYS = readdirSync(join(K8S, 'overlays')).sort();

interface Kustomization {
  resources?: string[];
  bases?: string[];
  patchesStrategicMerge?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}
const kustomization = (dir: string) =>
  parse(readFileSync(join(K8S, dir, 'kustomization.yaml'), 'utf8')) as Kustomization;

const build = (dir: string) => kustomizeBuild(kubectl!, dir);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Probe {
  httpGet: { path: string; port: string | number; scheme?: string };
}
interface Container {
  name: string;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  image: string;
  restartPolicy?: string;
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    containers: Container[];
    initContainers?: Container[];
    terminationGracePeriodSeconds?: number;
    securityContext?: { runAsNonRoot?: boolean };
    volumes?: { name: string; secret?: { secretName: string } }[];
  };
}
interface DeploymentObject extends K8sObject {
  spec: { replicas?: number; strategy?: { type: string }; template: PodTemplate };
}

/** The kubelet probes the admin port over HTTPS exactly when a web config puts it on TLS. */
const probe = (env: Record<string, EnvVar>, path: string) => ({
  path,
  port: 'metrics',
  ...(env.SIDECAR_ADMIN_WEB_CONFIG ? { scheme: 'HTTPS' } : {}),
});
const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
const allContainers = (t: PodTemplate) => [...(t.spec.initContainers ?? []), ...t.spec.containers];
/** The nylas-sidecar containers: the ones whose environment sets SIDECAR_ROLE. */
const sidecars = (t: PodTemplate) => allContainers(t).filter((c) => envOf(c).SIDECAR_ROLE);
const role = (c: Container) => envOf(c).SIDECAR_ROLE?.value;
const deployments = (objs: K8sObject[]) =>
  objs.filter((o): o is DeploymentObject => o.kind === 'Deployment');
const byRole = (objs: K8sObject[], r: string) =>
  deployments(objs).filter((d) => sidecars(d.spec.template).some((c) => role(c) === r));

describe('the kustomizations', () => {
  it('are the base, the monitoring and dashboard parts and at least two overlays', () => {
    expect(KUSTOMIZATIONS).toEqual(
      expect.arrayContaining(['base', 'dashboards', 'monitoring', 'overlays/production']),
    );
    expect(OVERLAYS.length).toBeGreaterThanOrEqual(2);
    for (const o of OVERLAYS) expect(KUSTOMIZATIONS).toContain(`overlays/${o}`);
  });

  it('use only what kustomize v2.0.3 (kubectl 1.20, Debian) understands: files in resources, directories in bases', () => {
    for (const dir of KUSTOMIZATIONS) {
      const k = kustomization(dir) as Record<string, unknown>;
      for (const field of Object.keys(k))
        expect(KUSTOMIZE_V2_FIELDS, `${dir}: ${field}`).toContain(field);
      const { resources = [], bases = [], patchesStrategicMerge = [] } = kustomization(dir);
      for (const f of [...resources, ...patchesStrategicMerge])
        expect(statSync(join(K8S, dir, f)).isFile(), `${dir}: ${f} is a file`).toBe(true);
      for (const b of bases)
        expect(statSync(join(K8S, dir, b)).isDirectory(), `${dir}: ${b} is a directory`).toBe(true);
    }
  });

  it('commit no Secret and no key: the API key comes from a Secret the operator creates', () => {
    const files = readdirSync(K8S, { recursive: true, encoding: 'utf8' }).filter((f) =>
      statSync(join(K8S, f)).isFile(),
    );
    expect(files.length).toBeGreaterThan(8);
    for (const f of files) {
      const text = readFileSync(join(K8S, f), 'utf8');
      expect(text, f).not.toMatch(/^kind:\s*Secret/m);
      expect(text, f).not.toMatch(/secretGenerator|nyk_[A-Za-z0-9]/);
    }
  });
});

describe('the generated objects', () => {
  it('PrometheusRule: exactly what the alerts generator writes, with the groups of alerts/', () => {
    const text = read(PROMETHEUS_RULE_FILE);
    expect(text, 'run npm run alerts:generate').toBe(renderPrometheusRule());
    const rule = parse(text) as { spec: { groups: unknown[] } };
    const file = parse(read('alerts/nylas-sidecar.rules.yml')) as { groups: unknown[] };
    expect(rule.spec.groups.length).toBeGreaterThan(3);
    expect(rule.spec.groups).toEqual(file.groups);
  });

  it('dashboard ConfigMaps: exactly what the dashboards generator writes, one per dashboards/*.json', () => {
    const text = read(CONFIGMAPS_FILE);
    expect(text, 'run npm run dashboards:generate').toBe(
      renderDashboardConfigMaps(renderDashboards()),
    );
    const onDisk = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json'));
    const maps = parseAllDocuments(text).map(
      (d) => d.toJS() as K8sObject & { data: Record<string, string> },
    );
    expect(maps.flatMap((m) => Object.keys(m.data)).sort()).toEqual(onDisk.sort());
    for (const m of maps) {
      expect(m.metadata.labels?.grafana_dashboard).toBe('1');
      // `kubectl apply` (client-side) copies the object into an annotation, and an object's
      // annotations may hold 256 KiB in all: a larger dashboard would need --server-side.
      expect(Buffer.byteLength(JSON.stringify(m)), m.metadata.name).toBeLessThan(200 * 1024);
      for (const [name, json] of Object.entries(m.data))
        expect(json, name).toBe(readFileSync(join(DASHBOARDS_DIR, name), 'utf8'));
    }
  });
});

describe('the schema check', () => {
  const deployment = (): K8sObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: {
        metadata: { labels: { a: 'b' } },
        spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] },
      },
    },
  });

  it('accepts a valid object and rejects a wrong type, an unknown field and a kind without a model', () => {
    expect(() => validateObject(deployment())).not.toThrow();
    const wrongType = deployment() as { spec: { replicas?: unknown } } & K8sObject;
    wrongType.spec.replicas = '1';
    expect(() => validateObject(wrongType)).toThrow(/replicas must be integer/);
    const typo = deployment() as K8sObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    typo.spec.template.spec.containers[0]!.restartPolicyy = 'Always';
    expect(() => validateObject(typo)).toThrow(/unknown fields .*containers\/0\/restartPolicyy/);
    expect(() =>
      validateObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }),
    ).toThrow(/no schema model/);
  });
});

describe.skipIf(!kubectl)('kubectl kustomize', () => {
  const built = new Map<string, K8sObject[]>();
  beforeAll(async () => {
    for (const dir of KUSTOMIZATIONS) built.set(dir, await build(dir));
  });
  const objects = (dir: string) => built.get(dir)!;
  const production = () => objects('overlays/production');

  it('builds every kustomization, and every object validates against its schema', () => {
    for (const dir of KUSTOMIZATIONS) {
      expect(objects(dir).length, dir).toBeGreaterThan(0);
      for (const obj of objects(dir)) expect(() => validateObject(obj), dir).not.toThrow();
    }
    expect(new Set(production().map((o) => o.kind))).toEqual(
      new Set(['Deployment', 'Service', 'ConfigMap', 'PodMonitor', 'PrometheusRule']),
    );
  });

  it('builds no Secret, and every credential in an environment comes from a secretKeyRef', () => {
    for (const dir of KUSTOMIZATIONS) {
      expect(
        objects(dir).filter((o) => o.kind === 'Secret'),
        dir,
      ).toEqual([]);
      for (const d of deployments(objects(dir))) {
        for (const c of allContainers(d.spec.template)) {
          for (const e of c.env ?? []) {
            if (!/KEY|SECRET|TOKEN|PASSWORD/.test(e.name)) continue;
            expect(e.value, `${dir} ${c.name} ${e.name}`).toBeUndefined();
            expect(e.valueFrom?.secretKeyRef?.key, `${dir} ${c.name} ${e.name}`).toBeTruthy();
          }
        }
      }
    }
  });

  it.each(OVERLAYS)(
    '%s: runs the proxy as a native sidecar in the app pod, listening on loopback, probed on /readyz and /healthz',
    (overlay) => {
      const [app, ...more] = byRole(objects(`overlays/${overlay}`), 'proxy');
      expect(more).toEqual([]);
      const t = app!.spec.template;
      const [sidecar, ...others] = sidecars(t);
      expect(others).toEqual([]);
      // A native sidecar: an init container that keeps running (Kubernetes 1.29+).
      expect(t.spec.initContainers).toContain(sidecar);
      expect(sidecar!.restartPolicy).toBe('Always');
      const env = envOf(sidecar!);
      expect(env.SIDECAR_LISTEN?.value).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(env.SIDECAR_ADMIN_LISTEN?.value).toBe('0.0.0.0:9464');
      // A proxy forwards the app's own key; it must not hold one.
      expect(env).not.toHaveProperty('NYLAS_API_KEY');
      expect(sidecar!.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
      expect(sidecar!.startupProbe?.httpGet).toEqual(probe(env, '/readyz'));
      expect(sidecar!.readinessProbe?.httpGet).toEqual(probe(env, '/readyz'));
      expect(sidecar!.livenessProbe?.httpGet).toEqual(probe(env, '/healthz'));
      // The app's SDK is pointed at the sidecar in its own pod.
      const appContainers = t.spec.containers.filter((c) => !role(c));
      expect(appContainers.length).toBeGreaterThan(0);
      for (const c of appContainers)
        expect(envOf(c).NYLAS_API_URI?.value).toBe(`http://${env.SIDECAR_LISTEN!.value!}`);
      // The pod outlives the sidecar's drain.
      const graceMs = Number(env.SIDECAR_SHUTDOWN_GRACE_MS?.value ?? 30000);
      expect(t.spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(graceMs);
    },
  );

  it.each(OVERLAYS)(
    '%s: runs exactly one pollers instance (Recreate), its key from a Secret, no proxy listener',
    (overlay) => {
      const [pollers, ...more] = byRole(objects(`overlays/${overlay}`), 'pollers');
      expect(more).toEqual([]);
      expect(pollers!.spec.replicas).toBe(1);
      expect(pollers!.spec.strategy).toEqual({ type: 'Recreate' });
      const [sidecar] = sidecars(pollers!.spec.template);
      const env = envOf(sidecar!);
      expect(env.NYLAS_API_KEY?.valueFrom?.secretKeyRef).toEqual({
        name: 'nylas-api-key',
        key: 'NYLAS_API_KEY',
      });
      expect(env).not.toHaveProperty('SIDECAR_LISTEN');
      expect(env.SIDECAR_ADMIN_LISTEN?.value).toBe('0.0.0.0:9464');
      expect(sidecar!.readinessProbe?.httpGet).toEqual(probe(env, '/readyz'));
      expect(sidecar!.livenessProbe?.httpGet).toEqual(probe(env, '/healthz'));
      // Its Service reaches the admin port of exactly this pod.
      const services = objects(`overlays/${overlay}`).filter(
        (o) => o.kind === 'Service',
      ) as (K8sObject & {
        spec: { selector: Record<string, string>; ports: { targetPort: string }[] };
      })[];
      expect(services).toHaveLength(1);
      expect(pollers!.spec.template.metadata.labels).toMatchObject(services[0]!.spec.selector);
      expect(services[0]!.spec.ports.map((p) => p.targetPort)).toEqual(['metrics']);
    },
  );

  it('hardens every sidecar container: non-root by uid, read-only root, no privilege escalation, no capabilities, resources set', () => {
    for (const dir of KUSTOMIZATIONS) {
      for (const d of deployments(objects(dir))) {
        expect(d.spec.template.spec.securityContext?.runAsNonRoot, d.metadata.name).toBe(true);
        for (const c of sidecars(d.spec.template)) {
          const where = `${dir} ${d.metadata.name}`;
          expect(c.securityContext, where).toMatchObject({
            runAsNonRoot: true,
            // The image's USER is the name `node`: the kubelet can only check a numeric uid.
            runAsUser: 1000,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          });
          expect(c.resources?.requests?.memory, where).toBeTruthy();
          expect(c.resources?.requests?.cpu, where).toBeTruthy();
          expect(c.resources?.limits?.memory, where).toBeTruthy();
        }
      }
    }
  });

  it('production: sets the images from the registry, the sidecar at the version of package.json', () => {
    const { version } = JSON.parse(read('package.json')) as { version: string };
    for (const d of deployments(production())) {
      for (const c of allContainers(d.spec.template))
        expect(c.image).toMatch(/^registry\.example\.com\/[\w-]+:[\w.-]+$/);
      for (const c of sidecars(d.spec.template))
        expect(c.image).toBe(`registry.example.com/nylas-sidecar:${version}`);
    }
    for (const d of deployments(objects('base')))
      for (const c of sidecars(d.spec.template)) expect(c.image).toBe(`nylas-sidecar:${version}`);
  });

  it('production: the PodMonitor scrapes the admin port of both kinds of pods as the job the rules select', () => {
    const [monitor] = production().filter((o) => o.kind === 'PodMonitor') as (K8sObject & {
      spec: {
        selector: { matchLabels: Record<string, string> };
        podMetricsEndpoints: {
          port: string;
          path: string;
          relabelings: { targetLabel: string; replacement: string }[];
        }[];
      };
    })[];
    const [endpoint, ...more] = monitor!.spec.podMetricsEndpoints;
    expect(more).toEqual([]);
    expect(endpoint!.path).toBe('/metrics');
    for (const r of ['proxy', 'pollers']) {
      const [d] = byRole(production(), r);
      expect(d!.spec.template.metadata.labels, r).toMatchObject(monitor!.spec.selector.matchLabels);
      const [sidecar] = sidecars(d!.spec.template);
      expect(
        sidecar!.ports?.map((p) => p.name),
        r,
      ).toContain(endpoint!.port);
    }
    const job = endpoint!.relabelings.find((l) => l.targetLabel === 'job')!.replacement;
    const ruleJobs = new Set(
      [...read('alerts/nylas-sidecar.rules.yml').matchAll(/job="([^"]*)"/g)].map((m) => m[1]),
    );
    expect([...ruleJobs]).toEqual([job]);
  });

  it('production: the built PrometheusRule and ConfigMaps hold the groups of alerts/ and exactly dashboards/*.json', () => {
    const [rule] = production().filter((o) => o.kind === 'PrometheusRule') as (K8sObject & {
      spec: { groups: unknown[] };
    })[];
    const file = parse(read('alerts/nylas-sidecar.rules.yml')) as { groups: unknown[] };
    expect(rule!.spec.groups).toEqual(file.groups);
    const maps = production().filter((o) => o.kind === 'ConfigMap') as (K8sObject & {
      data: Record<string, string>;
    })[];
    const data = Object.assign({}, ...maps.map((m) => m.data)) as Record<string, string>;
    const onDisk = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json'));
    expect(Object.keys(data).sort()).toEqual(onDisk.sort());
    for (const f of onDisk) expect(data[f], f).toBe(readFileSync(join(DASHBOARDS_DIR, f), 'utf8'));
    for (const m of maps) expect(m.metadata.labels?.grafana_dashboard).toBe('1');
  });

  it('without-operator: needs no Prometheus Operator CRD; its scrape job selects the same pods and port', () => {
    const objs = objects('overlays/without-operator');
    expect(objs.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'))).toEqual([]);
    expect(objs.filter((o) => o.kind === 'ConfigMap').length).toBeGreaterThan(0);
    const scrape = parse(
      read('deploy/kubernetes/overlays/without-operator/prometheus-scrape.yml'),
    ) as {
      scrape_configs: {
        job_name: string;
        relabel_configs: { source_labels?: string[]; regex?: string; action?: string }[];
      }[];
    };
    const [job] = scrape.scrape_configs;
    expect(job!.job_name).toBe('nylas-sidecar');
    const keep = Object.fromEntries(
      job!.relabel_configs
        .filter((r) => r.action === 'keep')
        .map((r) => [r.source_labels![0]!, r.regex!]),
    );
    // Prometheus turns a pod label's name into a meta label: non-alphanumerics become "_".
    const meta = (label: string) => `__meta_kubernetes_pod_label_${label.replace(/[^\w]/g, '_')}`;
    for (const r of ['proxy', 'pollers']) {
      const [d] = byRole(objs, r);
      const [sidecar] = sidecars(d!.spec.template);
      expect(sidecar!.ports?.map((p) => p.name)).toContain(
        keep.__meta_kubernetes_pod_container_port_name,
      );
      const matched = Object.entries(d!.spec.template.metadata.labels).filter(
        ([k, v]) => keep[meta(k)] === v,
      );
      expect(matched, r).toHaveLength(1);
    }
  });

  it('secured: every sidecar reads a web config from the Secret and the PodMonitor scrapes it over TLS with basic auth', () => {
    const objs = objects('overlays/secured');
    for (const r of ['proxy', 'pollers']) {
      const [d] = byRole(objs, r);
      const t = d!.spec.template;
      const [sidecar] = sidecars(t);
      const file = envOf(sidecar!).SIDECAR_ADMIN_WEB_CONFIG?.value;
      expect(file, r).toMatch(/^\/.+\/web-config\.yml$/);
      const mount = sidecar!.volumeMounts?.find((m) => file!.startsWith(`${m.mountPath}/`));
      expect(mount?.readOnly, r).toBe(true);
      const volume = t.spec.volumes?.find((v) => v.name === mount!.name);
      expect(volume?.secret?.secretName, r).toBe('nylas-sidecar-web-config');
      // Only the sidecar sees the key.
      for (const c of allContainers(t))
        if (c !== sidecar)
          expect(c.volumeMounts?.some((m) => m.name === mount!.name) ?? false, c.name).toBe(false);
      expect(sidecar!.livenessProbe?.httpGet.scheme, r).toBe('HTTPS');
    }
    const [monitor] = objs.filter((o) => o.kind === 'PodMonitor') as (K8sObject & {
      spec: {
        podMetricsEndpoints: {
          port: string;
          scheme?: string;
          tlsConfig?: { serverName?: string; ca?: { secret?: { name: string; key: string } } };
          basicAuth?: Record<'username' | 'password', { name: string; key: string }>;
          relabelings: { targetLabel: string; replacement: string }[];
        }[];
      };
    })[];
    const [endpoint, ...more] = monitor!.spec.podMetricsEndpoints;
    expect(more).toEqual([]);
    expect(endpoint).toMatchObject({
      port: 'metrics',
      scheme: 'https',
      tlsConfig: {
        serverName: expect.any(String) as string,
        ca: { secret: { name: 'nylas-sidecar-scrape', key: 'ca.crt' } },
      },
      basicAuth: {
        username: { name: 'nylas-sidecar-scrape', key: 'username' },
        password: { name: 'nylas-sidecar-scrape', key: 'password' },
      },
    });
    expect(endpoint!.relabelings).toEqual(
      (production().find((o) => o.kind === 'PodMonitor') as typeof monitor)!.spec
        .podMetricsEndpoints[0]!.relabelings,
    );
  });

  it('network policy: admits only the Prometheus pods, only to the admin port, of every sidecar pod', () => {
    interface Peer {
      namespaceSelector?: { matchLabels: Record<string, string> };
      podSelector?: { matchLabels: Record<string, string> };
    }
    type Policy = K8sObject & {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: { from?: Peer[]; ports?: { port: string | number; protocol: string }[] }[];
      };
    };
    for (const dir of ['components/network-policy', 'overlays/secured']) {
      const objs = objects(dir);
      const policies = objs.filter((o) => o.kind === 'NetworkPolicy') as Policy[];
      const admin = policies.find((p) => p.metadata.name === 'nylas-sidecar-admin')!;
      expect(admin.spec.policyTypes).toEqual(['Ingress']);
      const [rule, ...others] = admin.spec.ingress;
      expect(others, dir).toEqual([]);
      expect(rule!.ports).toEqual([{ port: 'metrics', protocol: 'TCP' }]);
      // One peer, both selectors in it: pods with these labels in that namespace (two peers would
      // admit the whole namespace, or such pods in every namespace).
      const [peer, ...morePeers] = rule!.from!;
      expect(morePeers).toEqual([]);
      expect(Object.keys(peer!.namespaceSelector!.matchLabels).length).toBeGreaterThan(0);
      expect(Object.keys(peer!.podSelector!.matchLabels).length).toBeGreaterThan(0);
      // Every other policy here is about the app's own pods and ports, never the sidecar's port.
      for (const p of policies.filter((x) => x !== admin))
        for (const r of p.spec.ingress)
          for (const port of r.ports ?? []) expect(port.port, p.metadata.name).not.toBe('metrics');
      if (dir !== 'overlays/secured') continue;
      for (const r of ['proxy', 'pollers']) {
        const [d] = byRole(objs, r);
        expect(d!.spec.template.metadata.labels, r).toMatchObject(
          admin.spec.podSelector.matchLabels,
        );
        const [sidecar] = sidecars(d!.spec.template);
        expect(sidecar!.ports?.map((x) => x.name)).toContain('metrics');
        // The proxy is loopback only: no NetworkPolicy is needed for it, and none could help.
        if (r === 'proxy') expect(envOf(sidecar!).SIDECAR_LISTEN?.value).toMatch(/^127\./);
      }
    }
  });
});
