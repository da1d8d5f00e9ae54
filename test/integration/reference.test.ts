// docs/reference.md is generated from the config schema, the metric catalog, the sources' span
// attributes and the alert rule generator: the committed file must be what the generator writes,
// and it must name everything those definitions hold.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config/schema.js';
import { createMetrics } from '../../src/metrics/catalog.js';
import { parse } from 'yaml';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const REFERENCE = join(ROOT, 'docs', 'reference.md');
const GENERATOR = join(ROOT, 'scripts', 'reference', 'generate.mjs');

async function sh(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run('node', [GENERATOR, ...args], { cwd: ROOT });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('docs/reference.md', () => {
  let tmp = '';
  let generated = '';
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'nylas-reference-'));
    const r = await sh(['--out', join(tmp, 'reference.md')]);
    expect(r.code, r.out).toBe(0);
    generated = await readFile(join(tmp, 'reference.md'), 'utf8');
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('is exactly what the generator writes', async () => {
    expect(await readFile(REFERENCE, 'utf8'), 'run npm run reference:generate').toBe(generated);
    expect((await sh(['--check'])).code).toBe(0);
  });

  it('--check fails, naming the command, when the file differs', async () => {
    const stale = join(tmp, 'stale.md');
    await writeFile(stale, generated.replace('| `SIDECAR_LISTEN` |', '| `SIDECAR_LISTEN_OLD` |'));
    const r = await sh(['--check', '--out', stale]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('is out of date: run npm run reference:generate');
  });

  it('names every setting of the schema, with its default', () => {
    for (const name of Object.keys(envSchema.shape))
      expect(generated, name).toMatch(new RegExp(`^\\| \`${name}\` \\| \\S`, 'm'));
    expect(generated).toContain('| `SIDECAR_LISTEN` | `127.0.0.1:4000` |');
  });

  it('names every metric family of the catalog with its type and labels', () => {
    const m = createMetrics({ latencyBuckets: [0.5], version: '0', defaultMetrics: false });
    const families = m.registry.getMetricsAsArray();
    expect(families.length).toBeGreaterThan(20);
    for (const f of families) {
      const row = generated.split('\n').find((l) => l.startsWith(`| \`${f.name}\` |`));
      expect(row, f.name).toBeDefined();
      expect(row).toContain(` ${(f as unknown as { type: string }).type} |`);
    }
    // Roles come from what each role's catalog exports.
    expect(generated).toMatch(/^\| `nylas_grants` \| gauge \| `status`, `provider` \| pollers \|/m);
    expect(generated).toMatch(/^\| `nylas_api_requests_total` \| counter \| .* \| proxy \|/m);
    expect(generated).toMatch(/^\| `nylas_sidecar_role` \| gauge \| `role` \| every role \|/m);
  });

  it('names every alert of the generated rules, with its severity', async () => {
    const { groups } = parse(
      await readFile(join(ROOT, 'alerts', 'nylas-sidecar.rules.yml'), 'utf8'),
    ) as { groups: { rules: { alert?: string }[] }[] };
    const names = [...new Set(groups.flatMap((g) => g.rules.flatMap((r) => r.alert ?? [])))];
    expect(names.length).toBeGreaterThan(10);
    for (const name of names)
      expect(generated, name).toContain(`| [${name}](../alerts/runbook.md#`);
    expect(generated).toMatch(/^\| \[NylasApiUnreachable\]\(.*\) \| critical \|/m);
  });

  it('names the proxy span attributes', () => {
    for (const attr of ['http.request.method', 'url.template', 'nylas.request_id', 'error.type'])
      expect(generated).toMatch(
        new RegExp(`^\\| \`${attr.replace('.', '\\.')}\` \\| .*proxied request`, 'm'),
      );
  });
});
