import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { bcryptHash, makeTestPki } from '../helpers/tls.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: string[] | Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: string[] | Record<string, unknown>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as Compose;
const services = Object.entries(compose.services);
/** Images Docker can not probe: no shell and no HTTP client inside (scratch/distroless). */
const NO_HEALTHCHECK = new Set(['otel-collector']);

function env(s: Service): Record<string, string | undefined> {
  if (!Array.isArray(s.environment)) return { ...s.environment };
  return Object.fromEntries(
    s.environment.map((e) => {
      const i = e.indexOf('=');
      return i < 0 ? [e, undefined] : [e.slice(0, i), e.slice(i + 1)];
    }),
  );
}
/** [host, container] of each volume entry (options like :ro dropped). */
function mounts(s: Service): [string, string][] {
  return (s.volumes ?? []).map((v) => {
    const [host, container] = v.split(':');
    return [host!, container!];
  });
}
function mountedAt(service: string, hostPath: string): string {
  const m = mounts(compose.services[service]!).find(([h]) => h === hostPath);
  if (!m) throw new Error(`${service} does not mount ${hostPath}`);
  return m[1];
}

describe('docker-compose.yml', () => {
  it('is valid for a real compose implementation (docker-compose config)', async () => {
    await expect(
      run('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
        cwd: ROOT,
      }),
    ).resolves.toBeDefined();
  });

  it('is rejected by docker-compose config when it is broken (the check can fail)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'compose-'));
    try {
      const file = join(dir, 'docker-compose.yml');
      await writeFile(
        file,
        'services:\n  x:\n    image: a\n    healthcheck:\n      test: 1\n      intervall: 5s\n',
      );
      await expect(
        run('docker-compose', ['-f', file, 'config', '-q'], { cwd: dir }),
      ).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs the sidecar, Prometheus, Alertmanager, Grafana, a collector and a trace backend', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['alertmanager', 'grafana', 'otel-collector', 'prometheus', 'sidecar', 'tempo'].sort(),
    );
  });

  it('mounts only files and directories that exist in the repository', () => {
    let binds = 0;
    for (const [name, s] of services) {
      for (const [host] of mounts(s)) {
        if (!host.startsWith('.')) {
          expect(compose.volumes, `${name}: named volume ${host}`).toHaveProperty(host);
          continue;
        }
        binds++;
        expect(existsSync(join(ROOT, host)), `${name} mounts ${host}`).toBe(true);
      }
    }
    expect(binds).toBeGreaterThanOrEqual(8);
  });

  it('pins every image to a version and keeps data in named volumes', () => {
    for (const [name, s] of services) {
      if (s.build) continue;
      expect(s.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+$/);
    }
    for (const svc of ['prometheus', 'alertmanager', 'grafana', 'tempo']) {
      const named = mounts(compose.services[svc]!).filter(([h]) => !h.startsWith('.'));
      expect(named.length, svc).toBe(1);
    }
  });

  it('health-checks every service whose image can run a probe', () => {
    for (const [name, s] of services) {
      if (NO_HEALTHCHECK.has(name)) continue;
      expect(s.healthcheck?.test?.[0], name).toBe('CMD');
    }
  });

  it('publishes ports on loopback only', () => {
    for (const [name, s] of services) {
      for (const p of s.ports ?? []) expect(p, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it('starts the sidecar in demo mode, listening for the other containers, exporting spans to the collector', () => {
    const sidecar = compose.services.sidecar!;
    expect(sidecar.build).toBe('.');
    const e = env(sidecar);
    // Passed through only when the shell has it: no key means demo mode.
    expect(e).toHaveProperty('NYLAS_API_KEY', undefined);
    expect(e.SIDECAR_LISTEN).toBe('0.0.0.0:4000');
    expect(e.SIDECAR_ADMIN_LISTEN).toBe('0.0.0.0:9464');
    // The image sets a role, so it never runs the demo by surprise; compose asks for it (auto),
    // and passing NYLAS_API_KEY through runs it live.
    const imageEnv = Object.fromEntries(
      [...read('Dockerfile').matchAll(/^\s*(?:ENV\s+)?(SIDECAR_[A-Z_]+)=(\S+)/gm)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    expect(imageEnv.SIDECAR_ROLE).toBe('all');
    expect(loadConfig({ env: imageEnv }).demo).toBe(false);
    const set = Object.fromEntries(
      Object.entries(e).filter(
        (kv): kv is [string, string] => kv[1] !== undefined && kv[0].startsWith('SIDECAR_'),
      ),
    );
    expect(loadConfig({ env: { ...imageEnv, ...set } }).demo).toBe(true);
    expect(loadConfig({ env: { ...imageEnv, ...set, NYLAS_API_KEY: 'k' } }).demo).toBe(false);
    expect(e.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
    const collector = parse(read('deploy/otel-collector/config.yml')) as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      exporters: Record<string, { endpoint: string }>;
      service: { pipelines: { traces: { exporters: string[] } } };
    };
    expect(collector.receivers.otlp.protocols.http.endpoint).toMatch(/:4318$/);
    const exporter = collector.exporters[collector.service.pipelines.traces.exporters[0]!]!;
    expect(exporter.endpoint.split(':')[0]).toBe('tempo');
    expect(mountedAt('otel-collector', './deploy/otel-collector/config.yml')).toBe(
      compose.services['otel-collector']!.command![0]!.replace('--config=', ''),
    );
  });
});

describe('Prometheus and Grafana provisioning', () => {
  it('loads the alert rules from alerts/ and sends alerts to Alertmanager', async () => {
    const file = join(ROOT, 'deploy/prometheus/prometheus.yml');
    await run('promtool', ['check', 'config', '--syntax-only', file]);
    const prom = parse(read('deploy/prometheus/prometheus.yml')) as {
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const rules = mountedAt('prometheus', './alerts/nylas-sidecar.rules.yml');
    const glob = new RegExp(
      `^${prom.rule_files[0]!.replace(/[.]/g, '\\.').replace('*', '[^/]*')}$`,
    );
    expect(rules).toMatch(glob);
    expect(mountedAt('alertmanager', './alerts/alertmanager.yml')).toBe(
      '/etc/alertmanager/alertmanager.yml',
    );
    expect(prom.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual([
      'alertmanager:9093',
    ]);
    const job = prom.scrape_configs.find((s) => s.job_name === 'nylas-sidecar')!;
    expect(job.static_configs[0]!.targets).toEqual(['sidecar:9464']);
    // The rules select the sidecar by this job name: a rename here would silence every alert.
    const ruleJobs = new Set(
      [...read('alerts/nylas-sidecar.rules.yml').matchAll(/job="([^"]*)"/g)].map((m) => m[1]),
    );
    expect([...ruleJobs]).toEqual([job.job_name]);
  });

  it('provisions Prometheus with exemplar links to the provisioned trace datasource', () => {
    const { datasources } = parse(
      read('deploy/grafana/provisioning/datasources/datasources.yml'),
    ) as {
      datasources: {
        uid: string;
        type: string;
        url: string;
        isDefault?: boolean;
        jsonData?: { exemplarTraceIdDestinations?: { name: string; datasourceUid: string }[] };
      }[];
    };
    const prometheus = datasources.find((d) => d.type === 'prometheus')!;
    expect(prometheus.isDefault).toBe(true);
    expect(prometheus.url).toBe('http://prometheus:9090');
    const [dest] = prometheus.jsonData!.exemplarTraceIdDestinations!;
    // The label the proxy's latency exemplars carry (rendered in src/metrics/fast.ts).
    expect(dest!.name).toBe('trace_id');
    expect(read('src/metrics/fast.ts')).toContain('{ trace_id: traceId');
    const tempo = datasources.find((d) => d.uid === dest!.datasourceUid)!;
    expect(tempo.type).toBe('tempo');
    expect(tempo.url).toBe('http://tempo:3200');
  });

  it('points the dashboard provider at the directory where dashboards/ is mounted', () => {
    const { providers } = parse(
      read('deploy/grafana/provisioning/dashboards/nylas-sidecar.yml'),
    ) as {
      providers: { type: string; options: { path: string } }[];
    };
    expect(providers[0]!.options.path).toBe(mountedAt('grafana', './dashboards'));
    expect(mountedAt('grafana', './deploy/grafana/provisioning/datasources')).toBe(
      '/etc/grafana/provisioning/datasources',
    );
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const ignore = read('.dockerignore')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));

  it('copies only sources that exist and that .dockerignore lets through', () => {
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      m[1]!.split(/\s+/),
    );
    expect(copies.length).toBeGreaterThan(3);
    for (const src of copies) {
      expect(existsSync(join(ROOT, src)), src).toBe(true);
      expect(ignore, `.dockerignore lets ${src} through`).toContain(
        `!${src}${src === 'src' ? '/' : ''}`,
      );
    }
  });

  it('is the runtime CI tests: .ci/run runs the suite again on the Node version this file names', async () => {
    const image = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-/m.exec(dockerfile)?.[1];
    const { stdout } = await run(process.execPath, [
      join(ROOT, 'scripts/shipped-node.mjs'),
      '--version',
    ]);
    expect(stdout.trim()).toBe(image);
    const ci = read('.ci/run');
    const shipped = ci.indexOf('scripts/shipped-node.mjs');
    expect(shipped).toBeGreaterThan(0);
    expect(ci.slice(shipped)).toMatch(/PATH="\$shipped_bin:\$PATH" npm test/);
  });

  it('builds with dev dependencies, runs production ones as node on a pinned Node LTS image', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:(24|26)\.\d+\.\d+-[a-z]+-slim$/m);
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^EXPOSE 4000 9464$/m);
    expect(dockerfile).toMatch(/SIDECAR_LISTEN=0\.0\.0\.0:4000/);
    expect(dockerfile).toMatch(/SIDECAR_ADMIN_LISTEN=0\.0\.0\.0:9464/);
  });

  describe('HEALTHCHECK', () => {
    let sidecar: TestSidecar;
    let probe: string;
    beforeAll(async () => {
      sidecar = await startTestSidecar({});
      const line = /^HEALTHCHECK .*\\\n\s+CMD (\[.*\])$/m.exec(dockerfile);
      const cmd = JSON.parse(line![1]!) as string[];
      expect(cmd.slice(0, 2)).toEqual(['node', '-e']);
      probe = cmd[2]!;
    });
    afterAll(async () => {
      await sidecar?.stop();
    });

    it('passes against a running sidecar, through the admin address in SIDECAR_ADMIN_LISTEN', async () => {
      const admin = new URL(sidecar.urls.admin);
      await expect(
        run(process.execPath, ['-e', probe], {
          env: { SIDECAR_ADMIN_LISTEN: `127.0.0.1:${admin.port}` },
        }),
      ).resolves.toBeDefined();
    });

    it('passes against an admin listener on TLS with basic auth (SIDECAR_ADMIN_WEB_CONFIG)', async () => {
      const pki = makeTestPki();
      const file = join(pki.dir, 'web.yml');
      writeFileSync(
        file,
        `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\nbasic_auth_users:\n  prometheus: '${bcryptHash('pw')}'\n`,
      );
      const secured = await startTestSidecar({ SIDECAR_ADMIN_WEB_CONFIG: file });
      try {
        const admin = new URL(secured.urls.admin);
        expect(admin.protocol).toBe('https:');
        await expect(
          run(process.execPath, ['-e', probe], {
            env: { SIDECAR_ADMIN_LISTEN: `127.0.0.1:${admin.port}` },
          }),
        ).resolves.toBeDefined();
      } finally {
        await secured.stop();
      }
    });

    it('fails when nothing answers on the admin port', async () => {
      await expect(
        run(process.execPath, ['-e', probe], { env: { SIDECAR_ADMIN_LISTEN: '127.0.0.1:1' } }),
      ).rejects.toThrow();
    });
  });
});
