import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createMetrics } from '../../src/metrics/index.js';
import { COMPONENT_STATUSES, INDICATOR_VALUES } from '../../src/pollers/labels.js';
import { DASHBOARDS_DIR, renderDashboards } from '../../scripts/dashboards/generate.mjs';
import {
  dashboardQueries,
  metricNames,
  substitute,
  variableQueries,
} from '../../scripts/dashboards/queries.mjs';

const run = promisify(execFile);

/** The four dashboards, by file name and the uid users' links depend on. */
const EXPECTED = {
  'nylas-api-overview.json': 'nylas-api-overview',
  'nylas-grants.json': 'nylas-grants',
  'nylas-webhooks.json': 'nylas-webhooks',
  'nylas-platform.json': 'nylas-platform',
};
const DS = { type: 'prometheus', uid: '${datasource}' };
/** Values the label variables take when the dashboards are checked: "All", as Grafana sends it. */
const VARS = {
  job: 'nylas-sidecar',
  instance: '.*',
  route: '.*',
  provider: '.*',
  trigger: '.*',
  component: '.*',
};

interface Panel {
  id?: number;
  type: string;
  title: string;
  datasource?: unknown;
  targets?: { expr: string; exemplar?: boolean; datasource?: unknown }[];
  fieldConfig?: {
    defaults?: { unit?: string; thresholds?: { steps: { value: number | null }[] } };
  };
  options?: { yAxis?: { unit?: string } };
  links?: { url: string }[];
  panels?: Panel[];
  gridPos?: { x: number; y: number; w: number; h: number };
}
interface Dashboard {
  uid: string;
  title: string;
  id?: unknown;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; datasource?: unknown }[] };
  annotations: { list: { name: string; expr?: string; datasource?: unknown }[] };
  links: { type: string; tags?: string[] }[];
  tags: string[];
}

let files: Record<string, string>;
let dashboards: Dashboard[];

beforeAll(async () => {
  files = {};
  for (const name of (await readdir(DASHBOARDS_DIR)).filter((f) => f.endsWith('.json'))) {
    files[name] = await readFile(join(DASHBOARDS_DIR, name), 'utf8');
  }
  dashboards = Object.values(files).map((text) => JSON.parse(text) as Dashboard);
});

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Every value of a `datasource` key anywhere in a JSON document, with its path. */
function datasourceRefs(node: unknown, path = ''): { path: string; value: unknown }[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => datasourceRefs(n, `${path}[${i}]`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) =>
    k === 'datasource' ? [{ path: `${path}.${k}`, value: v }] : datasourceRefs(v, `${path}.${k}`),
  );
}

describe('dashboards as code', () => {
  it('commits exactly what the generator writes, and nothing else', () => {
    const generated = renderDashboards();
    expect(Object.keys(files).sort()).toEqual(Object.keys(generated).sort());
    for (const [name, text] of Object.entries(generated)) expect(files[name], name).toBe(text);
  });

  it('ships the four dashboards with their fixed uids and no leftover id', () => {
    expect(Object.keys(files).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [name, uid] of Object.entries(EXPECTED)) {
      const d = JSON.parse(files[name]!) as Dashboard;
      expect(d.uid).toBe(uid);
      expect(d).not.toHaveProperty('id');
      expect(d.title).toMatch(/Nylas/);
    }
  });

  it('has a prometheus datasource variable first, and every datasource reference uses it', () => {
    for (const d of dashboards) {
      const [first] = d.templating.list;
      expect(first, d.uid).toMatchObject({
        name: 'datasource',
        type: 'datasource',
        query: 'prometheus',
      });
      const refs = datasourceRefs(d);
      expect(refs.length).toBeGreaterThan(0);
      for (const r of refs) expect(r.value, `${d.uid}${r.path}`).toEqual(DS);
      // No datasource uid of anyone's Grafana anywhere, whatever the key.
      expect(JSON.stringify(d)).not.toMatch(/"uid":\s*"(?!\$\{datasource\}|nylas-)/);
    }
  });

  it('gives every panel and query the datasource, a unit and a place on the grid', () => {
    for (const d of dashboards) {
      const panels = allPanels(d.panels);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, `${d.uid}: panel ids unique`).toBe(ids.length);
      for (const p of panels) {
        expect(p.gridPos, `${d.uid} / ${p.title}`).toBeDefined();
        expect(p.gridPos!.x + p.gridPos!.w).toBeLessThanOrEqual(24);
        if (p.type === 'row') continue;
        expect(p.datasource, `${d.uid} / ${p.title}`).toEqual(DS);
        expect(p.targets?.length, `${d.uid} / ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.datasource).toEqual(DS);
        const unit = p.type === 'heatmap' ? p.options?.yAxis?.unit : p.fieldConfig?.defaults?.unit;
        expect(unit, `${d.uid} / ${p.title}: unit`).toMatch(/\S/);
      }
    }
  });

  it('titles every panel of a dashboard differently', () => {
    for (const d of dashboards) {
      const titles = allPanels(d.panels).map((p) => p.title);
      expect(new Set(titles).size, d.uid).toBe(titles.length);
    }
  });

  it('links the four dashboards to each other, by tag and from panels', () => {
    const uids = new Set(Object.values(EXPECTED));
    for (const d of dashboards) {
      expect(d.tags).toContain('nylas-sidecar');
      expect(d.links).toContainEqual(
        expect.objectContaining({ type: 'dashboards', tags: ['nylas-sidecar'] }),
      );
      for (const p of allPanels(d.panels)) {
        for (const l of p.links ?? []) {
          const uid = /^\/d\/([^?/]+)/.exec(l.url)?.[1];
          expect(uids.has(uid ?? ''), `${d.uid} / ${p.title}: ${l.url}`).toBe(true);
        }
      }
    }
    const linked = new Set(
      dashboards.flatMap((d) =>
        allPanels(d.panels).flatMap((p) =>
          (p.links ?? []).map((l) => /^\/d\/([^?/]+)/.exec(l.url)?.[1]),
        ),
      ),
    );
    expect([...linked].sort()).toEqual([...uids].sort());
  });

  it('sets the SLO, latency-target and webhook-timeout thresholds', () => {
    const byUid = Object.fromEntries(dashboards.map((d) => [d.uid, allPanels(d.panels)]));
    const thresholds = (uid: string, title: string) =>
      byUid[uid]!.find((p) => p.title === title)!.fieldConfig!.defaults!.thresholds!.steps.map(
        (s) => s.value,
      );
    expect(thresholds('nylas-api-overview', 'Error ratio against the SLO')).toContain(0.001);
    expect(thresholds('nylas-api-overview', 'Latency percentiles')).toContain(0.5);
    expect(thresholds('nylas-webhooks', 'App response time against the 10 s timeout')).toContain(
      10,
    );
  });

  it('shows exemplars on the latency panels and a latency heatmap per route', () => {
    const api = allPanels(dashboards.find((d) => d.uid === 'nylas-api-overview')!.panels);
    const latency = api.filter((p) => /latency/i.test(p.title));
    expect(latency.length).toBeGreaterThanOrEqual(3);
    for (const p of latency.filter((x) => x.type !== 'stat' && x.type !== 'row')) {
      expect(
        p.targets!.some((t) => t.exemplar),
        p.title,
      ).toBe(true);
    }
    expect(api).toContainEqual(expect.objectContaining({ type: 'heatmap', repeat: 'route' }));
  });

  it('has every panel the runbook sends on-call to, on the dashboard it names', async () => {
    const runbook = await readFile(join(DASHBOARDS_DIR, '..', 'alerts', 'runbook.md'), 'utf8');
    const byTitle = new Map(
      dashboards.map((d) => [d.title, allPanels(d.panels).map((p) => p.title)]),
    );
    let checked = 0;
    for (const para of runbook.split(/\n\s*\n/).filter((p) => p.startsWith('**Confirm it.**'))) {
      // `*Dashboard title*: "Panel", "Panel"` (a paragraph may name several dashboards).
      const text = para.replace(/\s+/g, ' ');
      for (const part of text.split(/(?=\*[^*]+\*:)/).slice(1)) {
        const title = /^\*([^*]+)\*:/.exec(part)![1]!;
        const panels = [...part.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
        if (!title.startsWith('Nylas')) continue;
        expect(byTitle.has(title), `runbook names dashboard "${title}"`).toBe(true);
        for (const panel of panels) {
          expect(byTitle.get(title), `runbook: "${panel}" on ${title}`).toContain(panel);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('maps every component status the status-page poller reports, and no other', () => {
    // The generator reads the list from the build of src/pollers/labels.ts.
    const platform = dashboards.find((d) => d.uid === 'nylas-platform')!;
    const exprs = allPanels(platform.panels)
      .flatMap((p) => p.targets ?? [])
      .map((t) => t.expr)
      .filter((e) => e.includes('nylas_status_page_component_status') && e.includes('status="'));
    expect(exprs.length).toBeGreaterThan(0);
    for (const expr of exprs) {
      const mapped = [...expr.matchAll(/status="([^"]+)"/g)].map((m) => m[1]);
      expect(mapped).toEqual([...COMPONENT_STATUSES]);
    }
  });

  it('shows every status-page indicator value by its name, maintenance never as an outage colour', () => {
    const platform = dashboards.find((d) => d.uid === 'nylas-platform')!;
    type Mapped = { fieldConfig?: { defaults?: { mappings?: { options: object }[] } } };
    const panels = allPanels(platform.panels).filter((p) =>
      (p.targets ?? []).some((t) => /^max\(nylas_status_page_indicator\{/.test(t.expr)),
    );
    expect(panels.length).toBeGreaterThanOrEqual(2);
    const want = Object.fromEntries(
      Object.entries(INDICATOR_VALUES).map(([name, value]) => [String(value), name]),
    );
    for (const p of panels) {
      const options = ((p as Mapped).fieldConfig?.defaults?.mappings ?? [])[0]?.options as
        Record<string, { text: string; color: string }> | undefined;
      expect(options, p.title).toBeDefined();
      const got = Object.fromEntries(Object.entries(options!).map(([v, o]) => [v, o.text]));
      expect(got, p.title).toEqual(want);
      expect(['orange', 'red']).not.toContain(
        options![String(INDICATOR_VALUES.maintenance)]!.color,
      );
    }
  });

  it('marks status-page incidents and maintenance on the API panels', () => {
    const api = dashboards.find((d) => d.uid === 'nylas-api-overview')!;
    const exprs = api.annotations.list.map((a) => a.expr ?? '');
    expect(exprs.some((e) => e.includes('nylas_status_page_incident_info'))).toBe(true);
    expect(exprs.some((e) => e.includes('nylas_status_page_maintenance_active'))).toBe(true);
  });
});

describe('dashboard queries', () => {
  let allowed: Set<string>;
  let dir: string;

  beforeAll(async () => {
    // The catalog as the sidecar registers it, with prom-client's default metrics and the
    // series Prometheus adds itself.
    const metrics = createMetrics({
      latencyBuckets: [0.5],
      version: '0.0.0',
      defaultMetrics: true,
    });
    allowed = new Set(['up']);
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      allowed.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) allowed.add(m.name + s);
    }
    dir = await mkdtemp(join(tmpdir(), 'dashboards-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names only metrics from the catalog (and prom-client defaults and up)', () => {
    let count = 0;
    for (const d of dashboards) {
      for (const q of dashboardQueries(d)) {
        const names = metricNames(q.expr);
        expect(names.size, q.where).toBeGreaterThan(0);
        for (const n of names) expect(allowed.has(n), `${q.where}: ${n}`).toBe(true);
        count++;
      }
      for (const v of variableQueries(d)) {
        expect(v.metric, `${d.uid} variable ${v.name}: ${v.text}`).toBeDefined();
        expect(allowed.has(v.metric!), `${d.uid} variable ${v.name}`).toBe(true);
      }
    }
    expect(count).toBeGreaterThan(40);
  });

  it('filters every metric selector by the job variable', () => {
    for (const d of dashboards) {
      for (const q of dashboardQueries(d)) {
        for (const n of metricNames(q.expr)) {
          const uses = q.expr.match(new RegExp(`\\b${n}\\b`, 'g'))?.length ?? 0;
          const filtered =
            q.expr.match(new RegExp(`\\b${n}\\{[^}]*job=~"\\$job"`, 'g'))?.length ?? 0;
          expect(filtered, `${q.where}: ${n}`).toBe(uses);
        }
      }
    }
  });

  it('notices a metric that is not in the catalog', () => {
    const names = metricNames(
      'sum by (route) (rate(nylas_api_request_total{code=~"5.."}[5m])) / 2',
    );
    expect([...names]).toEqual(['nylas_api_request_total']);
    expect(allowed.has('nylas_api_request_total')).toBe(false);
  });

  it('parses every expression with promtool once the variables are substituted', async () => {
    const rules = dashboards.flatMap((d) =>
      dashboardQueries(d).map((q, i) => ({
        record: `dashboard:${d.uid.replace(/-/g, '_')}:q${i}`,
        expr: substitute(q.expr, VARS),
      })),
    );
    const file = join(dir, 'dashboards.rules.yml');
    await writeFile(file, stringify({ groups: [{ name: 'dashboards', rules }] }));
    const { stdout } = await run('promtool', ['check', 'rules', file]);
    expect(stdout).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('makes promtool reject a broken expression (the check can fail)', async () => {
    const file = join(dir, 'broken.rules.yml');
    await writeFile(
      file,
      stringify({
        groups: [{ name: 'b', rules: [{ record: 'x:y', expr: 'sum by (le (rate(x[1m]))' }] }],
      }),
    );
    await expect(run('promtool', ['check', 'rules', file])).rejects.toThrow();
  });
});

describe('dashboards for many clusters (--cluster-label)', () => {
  const GENERATOR = join(import.meta.dirname, '..', '..', 'scripts', 'dashboards', 'generate.mjs');
  let multi: Dashboard[];
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashboards-multi-'));
    multi = Object.values(renderDashboards({ clusterLabel: 'cluster' })).map(
      (text) => JSON.parse(text) as Dashboard,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('adds a cluster variable after the job, several clusters or All at once', () => {
    expect(multi).toHaveLength(4);
    for (const d of multi) {
      const names = d.templating.list.map((v) => v.name);
      expect(names.slice(0, 3), d.uid).toEqual(['datasource', 'job', 'cluster']);
      const [v] = variableQueries(d).filter((x) => x.name === 'cluster');
      expect(v, d.uid).toMatchObject({ metric: 'nylas_sidecar_build_info', label: 'cluster' });
      expect(d.templating.list[2], d.uid).toMatchObject({ includeAll: true, multi: true });
    }
  });

  it('keeps the clusters apart in every query: filtered by the variable, aggregated by cluster', () => {
    let queries = 0;
    let lists = 0;
    for (const d of multi) {
      for (const q of dashboardQueries(d)) {
        queries++;
        const code = q.expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
        for (const m of code.matchAll(/\b(by|on)\s*\(([^)]*)\)/g)) {
          lists++;
          expect(
            m[2]!.split(',').map((l) => l.trim()),
            `${q.where}: ${m[0]}`,
          ).toContain('cluster');
        }
        // A bare aggregation (or vector(), which has no labels) would add the clusters together.
        expect(code, q.where).not.toMatch(
          /\b(sum|min|max|avg|count|topk|bottomk|quantile|vector)\s*\(/,
        );
        for (const n of metricNames(q.expr)) {
          const uses = q.expr.match(new RegExp(`\\b${n}\\b`, 'g'))?.length ?? 0;
          const filtered =
            q.expr.match(new RegExp(`\\b${n}\\{[^}]*cluster=~"\\$cluster"`, 'g'))?.length ?? 0;
          expect(filtered, `${q.where}: ${n}`).toBe(uses);
        }
      }
    }
    expect(queries).toBeGreaterThan(80);
    expect(lists).toBeGreaterThan(150);
  });

  it('the same check finds the single-cluster dashboards adding clusters together', () => {
    const bare = dashboards
      .flatMap((d) => dashboardQueries(d))
      .filter(
        (q) => /\b(sum|max|min|count)\s*\(/.test(q.expr) || /\bby \((?!cluster)/.test(q.expr),
      );
    expect(bare.length).toBeGreaterThan(50);
  });

  it('parses every query with promtool once the variables are substituted', async () => {
    const rules = multi.flatMap((d) =>
      dashboardQueries(d).map((q, i) => ({
        record: `dashboard:${d.uid.replace(/-/g, '_')}:q${i}`,
        expr: substitute(q.expr, { ...VARS, cluster: '.*' }),
      })),
    );
    const file = join(dir, 'dashboards.rules.yml');
    await writeFile(file, stringify({ groups: [{ name: 'dashboards', rules }] }));
    const { stdout } = await run('promtool', ['check', 'rules', file]);
    expect(stdout).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('keeps the chosen clusters when a panel links to another dashboard', () => {
    const urls = multi.flatMap((d) => allPanels(d.panels).flatMap((p) => p.links ?? []));
    expect(urls.length).toBeGreaterThan(3);
    for (const l of urls) expect(l.url).toContain('${cluster:queryparam}');
    // Status-page annotations come from each cluster's pollers: their titles say which cluster.
    const notes = multi.flatMap(
      (d) => d.annotations.list as Array<{ expr?: string; titleFormat?: string }>,
    );
    expect(notes.filter((a) => a.expr).length).toBeGreaterThan(3);
    for (const a of notes.filter((x) => x.expr))
      expect(a.titleFormat).toMatch(/^\{\{cluster\}\}: /);
  });

  it('writes the variant with --out, and refuses a label that is not a label name', async () => {
    const out = join(dir, 'out');
    const { stdout } = await run('node', [GENERATOR, '--cluster-label', 'cluster', '--out', out]);
    expect(stdout.trim().split('\n')).toHaveLength(4);
    const rendered = renderDashboards({ clusterLabel: 'cluster' });
    for (const [name, text] of Object.entries(rendered))
      expect(await readFile(join(out, name), 'utf8'), name).toBe(text);
    const bad = await run('node', [GENERATOR, '--cluster-label', 'eu-west', '--out', out]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'generate: --cluster-label eu-west is not a valid Prometheus label name\n',
    );
  });
});
