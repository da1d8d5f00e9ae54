// The alert rules, their tests, the Alertmanager example and the runbook, checked with the real
// Prometheus tools (Debian's promtool and amtool) and against the metric catalog.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../src/metrics/catalog.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const ALERTS = join(ROOT, 'alerts');
const RULES = join(ALERTS, 'nylas-sidecar.rules.yml');
const GENERATOR = join(ROOT, 'scripts', 'alerts', 'generate.mjs');

/**
 * The alert names users' routing and silences depend on: a contract (docs/reference.md lists
 * them), so a rename or a removal must fail here.
 */
const CONTRACT_ALERTS = [
  'NylasApiErrorBudgetBurn',
  'NylasApiUnreachable',
  'NylasApiLatencyHigh',
  'NylasApiRateLimited',
  'NylasGrantsInvalid',
  'NylasGrantsInvalidSurge',
  'NylasAccountSyncStopped',
  'NylasApiKeyInvalid',
  'NylasWebhookFailing',
  'NylasWebhookFailed',
  'NylasWebhookEndpointSlow',
  'NylasWebhookSignatureInvalid',
  'NylasPlatformIncident',
  'NylasPlatformMajorOutage',
  'NylasSidecarPollerStale',
  'NylasSidecarDown',
  // Notification channels and destinations on their way to `failed`.
  'NylasChannelFailing',
  'NylasChannelFailed',
  'NylasWebhookFailingTowardsFailed',
  'NylasChannelFailingTowardsFailed',
  'NylasGrantsCensusStale',
];

/** The alerts about running many instances (names are a contract too). */
const MORE_ALERTS = ['NylasSidecarNoPoller', 'NylasSidecarInstanceErrors'];
const ALL_ALERTS = [...CONTRACT_ALERTS, ...MORE_ALERTS];

/** The promtool test files in alerts/tests/ (one instance; many instances; channels and grant notifications). */
const TEST_FILES = [
  'nylas-sidecar.rules.test.yml',
  'replicas.rules.test.yml',
  'channels.rules.test.yml',
];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

/** Runs a command; resolves with its exit code and output instead of throwing. */
async function sh(cmd: string, args: string[], cwd = ROOT) {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd });
    return { code: 0, stdout, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The anchor GitHub gives a Markdown heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

describe('alert rules', () => {
  let rules: RuleFile;
  let alerts: Rule[];
  let tmp: string;

  beforeAll(async () => {
    rules = parse(await readFile(RULES, 'utf8')) as RuleFile;
    alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    tmp = await mkdtemp(join(tmpdir(), 'nylas-alerts-'));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('the committed rule file is exactly what the generator writes', async () => {
    const r = await sh('node', [GENERATOR, '--out', tmp]);
    expect(r.code, r.out).toBe(0);
    const generated = await readFile(join(tmp, 'nylas-sidecar.rules.yml'), 'utf8');
    expect(await readFile(RULES, 'utf8'), 'run npm run alerts:generate').toBe(generated);
  });

  it('passes promtool check rules, in production and in test timing', async () => {
    const prod = await sh('promtool', ['check', 'rules', RULES]);
    expect(prod.code, prod.out).toBe(0);
    const dir = join(tmp, 'test-timing');
    expect((await sh('node', [GENERATOR, '--test-timing', '--out', dir])).code).toBe(0);
    const test = await sh('promtool', ['check', 'rules', join(dir, 'nylas-sidecar.rules.yml')]);
    expect(test.code, test.out).toBe(0);
  });

  it('changes only durations in test timing: same rules, labels and annotations', async () => {
    const dir = join(tmp, 'timing');
    expect((await sh('node', [GENERATOR, '--test-timing', '--out', dir])).code).toBe(0);
    const fast = parse(await readFile(join(dir, 'nylas-sidecar.rules.yml'), 'utf8')) as RuleFile;
    // Windows, offsets, window lengths in seconds (guards) and the stale threshold are durations.
    const norm = (text: string) =>
      text
        .replace(/\[\d+[smhd]\]/g, '[W]')
        .replace(/offset \d+[smhd]/g, 'offset W')
        .replace(/\* \d+ >=/g, '* S >=')
        .replace(/(> |for )(900|20|10800|60)( s)?\b/g, '$1T$3');
    const shape = (f: RuleFile) =>
      f.groups.map((g) => ({
        name: g.name,
        rules: g.rules.map((r) => ({
          ...r,
          expr: norm(r.expr),
          for: r.for ? 'F' : undefined,
          annotations: r.annotations
            ? Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, norm(v)]))
            : undefined,
        })),
      }));
    expect(shape(fast)).toEqual(shape(rules));
    expect(
      fast.groups[0]!.rules.find((r) => r.record === 'nylas:api_requests:rate5m')!.expr,
    ).toContain('[10s]');
    expect(alerts.every((a) => a.for !== undefined)).toBe(true);
  });

  it('passes its promtool unit tests (every alert fires in one case, stays silent in another)', async () => {
    // One promtool run per file, so that a failure names its file.
    for (const f of TEST_FILES) {
      const r = await sh('promtool', ['test', 'rules', `tests/${f}`], ALERTS);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('SUCCESS');
    }
  }, 180_000);

  it('has a firing and a silent promtool case for every alert', async () => {
    const files = (await Promise.all(
      TEST_FILES.map(async (f) => parse(await readFile(join(ALERTS, 'tests', f), 'utf8'))),
    )) as Array<{
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
    }>;
    const cases = files.flatMap((t) => t.tests.flatMap((x) => x.alert_rule_test ?? []));
    for (const name of ALL_ALERTS) {
      const mine = cases.filter((c) => c.alertname === name);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${name} fires somewhere`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${name} is silent somewhere`,
      ).toBe(true);
    }
  });

  it('defines exactly the contract alerts', () => {
    expect([...new Set(alerts.map((a) => a.alert))].sort()).toEqual([...ALL_ALERTS].sort());
  });

  it('gives every alert a for, severity, support tier, summary, description and runbook', () => {
    for (const a of alerts) {
      expect(a.for, `${a.alert} for`).toMatch(/^\d+[smhd]$/);
      expect(['critical', 'warning', 'info'], `${a.alert} severity`).toContain(a.labels?.severity);
      expect(['1', '2', '3', '4'], `${a.alert} tier`).toContain(a.labels?.nylas_support_tier);
      expect(a.annotations?.summary, `${a.alert} summary`).toMatch(/\.$/);
      expect(a.annotations?.description?.length, `${a.alert} description`).toBeGreaterThan(20);
      expect(a.annotations?.runbook_url, `${a.alert} runbook_url`).toMatch(/^alerts\/runbook\.md#/);
    }
  });

  it('pages on a fast burn and tickets on a slow one, against the 99.9 % objective', () => {
    const burn = alerts.filter((a) => a.alert === 'NylasApiErrorBudgetBurn');
    const rows = burn.map((a) => [a.labels?.long, a.labels?.short, a.labels?.severity]);
    expect(rows).toEqual([
      ['1h', '5m', 'critical'],
      ['6h', '30m', 'critical'],
      ['1d', '2h', 'warning'],
      ['3d', '6h', 'warning'],
    ]);
    expect(burn.map((a) => /> \(([\d.]+) \* 0\.001\)/.exec(a.expr)?.[1])).toEqual([
      '14.4',
      '6',
      '3',
      '1',
    ]);
  });

  it('points every runbook_url at a section of alerts/runbook.md', async () => {
    const md = await readFile(join(ALERTS, 'runbook.md'), 'utf8');
    const anchors = new Set(
      md
        .split('\n')
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => slug(l.replace(/^#+ /, ''))),
    );
    for (const a of alerts) {
      const anchor = a.annotations!.runbook_url!.split('#')[1]!;
      expect(anchors.has(anchor), `runbook.md has a section for #${anchor}`).toBe(true);
    }
    // And every in-page link of the runbook resolves too.
    for (const m of md.matchAll(/\]\(#([^)]+)\)/g)) {
      expect(anchors.has(m[1]!), `runbook link #${m[1]}`).toBe(true);
    }
  });

  it('names only metrics and labels that the metric catalog declares', () => {
    const metrics = createMetrics({ latencyBuckets: [0.5], version: 't', defaultMetrics: false });
    const families = new Map<string, { type: string; labels: Set<string> }>();
    for (const m of metrics.registry.getMetricsAsArray() as unknown as Array<{
      name: string;
      type: string;
      labelNames?: readonly string[];
    }>) {
      const labels = new Set([...(m.labelNames ?? []), 'job', 'instance']);
      if (m.type === 'histogram') {
        families.set(`${m.name}_bucket`, { type: 'counter', labels: new Set([...labels, 'le']) });
        families.set(`${m.name}_sum`, { type: 'counter', labels });
        families.set(`${m.name}_count`, { type: 'counter', labels });
      } else {
        families.set(m.name, { type: m.type, labels });
      }
    }
    const recorded = new Set(rules.groups.flatMap((g) => g.rules.map((r) => r.record)));
    const texts = rules.groups.flatMap((g) =>
      g.rules.flatMap((r) => [r.expr, ...Object.values(r.annotations ?? {})]),
    );
    let seen = 0;
    for (const text of texts) {
      // Names with a colon are recording rules (nylas:..., nylas_sidecar:...), checked below.
      for (const m of text.matchAll(/\b(nylas_[a-z0-9_]+)(?![a-z0-9_:])(?:\{([^}]*)\})?/g)) {
        const family = families.get(m[1]!);
        expect(family, `${m[1]} is in the catalog`).toBeDefined();
        seen++;
        for (const l of (m[2] ?? '').replace(/\\"/g, '"').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
          expect(family!.labels.has(l[1]!), `${m[1]} has label ${l[1]}`).toBe(true);
        }
        if (family!.type === 'counter') expect(m[1]).toMatch(/_(total|bucket|count|sum)$/);
      }
      for (const m of text.matchAll(/\b(nylas(?:_[a-z0-9_]+)?:[a-z0-9_:]+)/g)) {
        expect(recorded.has(m[1]), `${m[1]} is a recording rule`).toBe(true);
      }
      // nylas_sidecar:poller_freshest is the freshest-poller rule of the roles change.
      for (const m of text.matchAll(/\b(nylas_sidecar:[a-z0-9_:]+)/g)) {
        const name = m[1]!;
        expect(
          recorded.has(name) || name === 'nylas_sidecar:poller_freshest',
          `${name} is a recording rule`,
        ).toBe(true);
      }
    }
    expect(seen).toBeGreaterThan(30);
  });

  it('uses catalog metrics in the promtool test inputs and the runbook', async () => {
    const metrics = createMetrics({ latencyBuckets: [0.5], version: 't', defaultMetrics: false });
    const known = new Map<string, Set<string>>();
    for (const m of metrics.registry.getMetricsAsArray() as unknown as Array<{
      name: string;
      type: string;
      labelNames?: readonly string[];
    }>) {
      const labels = new Set([...(m.labelNames ?? []), 'job', 'instance']);
      known.set(m.name, labels);
      if (m.type === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count'])
          known.set(`${m.name}${suffix}`, new Set([...labels, 'le']));
    }
    known.set('up', new Set(['job', 'instance']));
    // Input series of the promtool tests: a misspelt name or label would make a "silent" case
    // pass for the wrong reason.
    // The freshest-poller recording rule, given as input where a test stands in for it.
    known.set('nylas_sidecar:poller_freshest', new Set(['job', 'instance', 'poller']));
    const files = (await Promise.all(
      TEST_FILES.map(async (f) => parse(await readFile(join(ALERTS, 'tests', f), 'utf8'))),
    )) as Array<{ tests: Array<{ input_series?: Array<{ series: string }> }> }>;
    const inputs = files
      .flatMap((t) => t.tests.flatMap((x) => x.input_series ?? []))
      .map((i) => i.series);
    expect(inputs.length).toBeGreaterThan(40);
    for (const series of inputs) {
      const m = /^([a-z_:][a-z0-9_:]*)\{(.*)\}$/.exec(series);
      expect(m, series).not.toBeNull();
      const labels = known.get(m![1]!);
      expect(labels, `${m![1]} is in the catalog`).toBeDefined();
      for (const l of m![2]!.matchAll(/(\w+)="/g)) {
        expect(labels!.has(l[1]!), `${m![1]} has label ${l[1]}`).toBe(true);
      }
    }
    // Metric names mentioned in the runbook and README (labels and annotations excepted).
    const notMetrics = new Set(['nylas_support_tier', 'nylas_status_page']);
    for (const file of ['runbook.md', 'README.md']) {
      const text = await readFile(join(ALERTS, file), 'utf8');
      for (const [name] of text.matchAll(/\bnylas_[a-z0-9_]+(?![a-z0-9_:])/g)) {
        if (notMetrics.has(name)) continue;
        expect(known.has(name), `${file}: ${name} is in the catalog`).toBe(true);
      }
    }
  });

  it('takes the SLO and job from the generator options', async () => {
    const dir = join(tmp, 'custom');
    const r = await sh('node', [GENERATOR, '--slo', '99.5', '--job', 'my-sidecar', '--out', dir]);
    expect(r.code, r.out).toBe(0);
    const text = await readFile(join(dir, 'nylas-sidecar.rules.yml'), 'utf8');
    expect(text).toContain('> (14.4 * 0.005)');
    expect(text).toContain('absent(up{job="my-sidecar"})');
    expect(text).not.toContain('job="nylas-sidecar"');
    const bad = await sh('node', [GENERATOR, '--slo', '100', '--out', dir]);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('--slo');
  });
});

describe('multi-cluster rules (alerts/multi-cluster/, --cluster-label cluster)', () => {
  const MULTI = join(ALERTS, 'multi-cluster', 'nylas-sidecar.rules.yml');
  let single: RuleFile;
  let multi: RuleFile;
  let tmp: string;

  beforeAll(async () => {
    single = parse(await readFile(RULES, 'utf8')) as RuleFile;
    multi = parse(await readFile(MULTI, 'utf8')) as RuleFile;
    tmp = await mkdtemp(join(tmpdir(), 'nylas-alerts-multi-'));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('the committed variant is exactly what the generator writes with --cluster-label cluster', async () => {
    const r = await sh('node', [GENERATOR, '--cluster-label', 'cluster', '--out', tmp]);
    expect(r.code, r.out).toBe(0);
    const generated = await readFile(join(tmp, 'nylas-sidecar.rules.yml'), 'utf8');
    expect(await readFile(MULTI, 'utf8'), 'run npm run alerts:generate').toBe(generated);
    const check = await sh('node', [GENERATOR, '--check']);
    expect(check.code, check.out).toBe(0);
  });

  it('passes promtool check rules, in production and in test timing', async () => {
    const prod = await sh('promtool', ['check', 'rules', MULTI]);
    expect(prod.code, prod.out).toBe(0);
    const dir = join(tmp, 'timing');
    const gen = await sh('node', [
      GENERATOR,
      '--cluster-label',
      'cluster',
      '--test-timing',
      '--out',
      dir,
    ]);
    expect(gen.code, gen.out).toBe(0);
    const test = await sh('promtool', ['check', 'rules', join(dir, 'nylas-sidecar.rules.yml')]);
    expect(test.code, test.out).toBe(0);
  });

  it('passes its promtool unit tests with two clusters', async () => {
    const r = await sh('promtool', ['test', 'rules', 'tests/multi-cluster.rules.test.yml'], ALERTS);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('keeps the cluster label in every aggregation and every vector match', () => {
    const exprs = multi.groups.flatMap((g) =>
      g.rules.map((r) => ({ name: r.alert ?? r.record, expr: r.expr })),
    );
    let lists = 0;
    for (const { name, expr } of exprs) {
      const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
      for (const m of code.matchAll(/\b(by|on)\s*\(([^)]*)\)/g)) {
        lists++;
        expect(
          m[2]!.split(',').map((l) => l.trim()),
          `${name}: ${m[0]}`,
        ).toContain('cluster');
      }
      // An aggregation without `by` would add the clusters together.
      expect(code, name).not.toMatch(/\b(sum|min|max|avg|count|topk|bottomk|quantile)\s*\(/);
    }
    expect(lists).toBeGreaterThan(100);
    // absent() cannot keep a label: only "no target of the job at all" still uses it.
    const absent = exprs.filter((e) => e.expr.includes('absent('));
    expect(absent.map((e) => e.name)).toEqual(['NylasSidecarDown']);
  });

  it('defines the same rules as the single-cluster file, told apart only by the cluster label', () => {
    const norm = (e: string) =>
      e
        .replace(/ by \(cluster\) \(/g, '(')
        .replace(/\((cluster, )/g, '(')
        .replace(/ by \(cluster\)/g, '');
    const shape = (f: RuleFile) =>
      f.groups.map((g) => ({
        name: g.name,
        rules: g.rules.map((r) => ({
          ...r,
          // Where absent() cannot name a cluster, the multi-cluster rule says per cluster instead.
          expr:
            r.alert === 'NylasSidecarNoPoller'
              ? 'per cluster'
              : norm(r.expr).replace(/\nor\n\(\n {2}count by \(job\) \(last_over_time[^]*$/, ''),
          annotations: undefined,
        })),
      }));
    expect(shape(multi)).toEqual(shape(single));
  });

  it('names the cluster in every alert description, and asks templates about that cluster', () => {
    const alerts = multi.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThan(20);
    for (const a of alerts) {
      expect(a.annotations!.description, a.alert).toContain('{{ $labels.cluster }}');
      for (const text of Object.values(a.annotations!)) {
        // Every query a template runs is for the alert's own cluster.
        expect(text, a.alert).not.toMatch(/query "/);
        for (const m of text.matchAll(/printf "((?:[^"\\]|\\.)*)" \$labels\.cluster \| query/g))
          expect(m[1], a.alert).toContain('cluster=\\"%[1]s\\"');
      }
    }
  });

  it('refuses a cluster label that is not a label name, naming the setting in one line', async () => {
    const bad = await sh('node', [GENERATOR, '--cluster-label', 'eu-west', '--out', tmp]);
    expect(bad.code).toBe(2);
    expect(bad.out.split('\n')[0]).toBe(
      'generate: --cluster-label eu-west is not a valid Prometheus label name',
    );
    expect(bad.out).not.toMatch(/\n\s+at /);
    // Without --out it would overwrite the single-cluster rules of alerts/.
    const noOut = await sh('node', [GENERATOR, '--cluster-label', 'cluster', '--check']);
    expect(noOut.code).toBe(2);
    expect(noOut.out.split('\n')[0]).toMatch(/^generate: --cluster-label needs --out/);
  });
});

describe('alertmanager example config', () => {
  const CONFIG = join(ALERTS, 'alertmanager.yml');

  it('passes amtool check-config', async () => {
    const r = await sh('amtool', ['check-config', CONFIG]);
    expect(r.code, r.out).toBe(0);
  });

  it.each([
    ['critical', 'nylas-page'],
    ['warning', 'nylas-ticket'],
    ['info', 'nylas-info'],
  ])('routes severity %s to %s', async (severity, receiver) => {
    const r = await sh('amtool', [
      'config',
      'routes',
      'test',
      `--config.file=${CONFIG}`,
      'alertname=NylasApiErrorBudgetBurn',
      `severity=${severity}`,
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout.trim()).toBe(receiver);
  });

  it('groups by alert name and marks API warnings while Nylas has an incident', async () => {
    const cfg = parse(await readFile(CONFIG, 'utf8')) as {
      route: { group_by: string[] };
      inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[] }>;
    };
    // `cluster` is absent with one cluster (grouping by name alone) and set by the multi-cluster
    // rules, where one cluster's outage is its own notification.
    expect(cfg.route.group_by).toEqual(['alertname', 'cluster']);
    const incident = cfg.inhibit_rules.find((r) =>
      r.source_matchers.some((m) => m.includes('NylasPlatformIncident')),
    );
    expect(incident?.target_matchers).toEqual(['alertname=~"NylasApi.+"', 'severity="warning"']);
  });
});
