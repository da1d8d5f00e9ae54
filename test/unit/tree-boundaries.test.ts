// bench/ is the benchmark a user runs; the product (src/) and its tests (test/) must build and run
// without it, so nothing there may import from it or start one of its built scripts. Helpers both
// need live in test/helpers/, which bench/ may import.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HERE = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(HERE), '..', '..');
const FORBIDDEN = [join(ROOT, 'bench'), join(ROOT, 'dist', 'bench')];

/** Module specifiers and import.meta.url-relative paths a source file names. */
const SPECIFIER =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+|\bnew URL\(\s*)(['"`])([^'"`]+)\1/g;

/** The specifiers in `text` (a file at `file`) that resolve into bench/ or its build. */
function benchImports(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[2]!;
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec);
    if (FORBIDDEN.some((d) => target === d || target.startsWith(d + sep))) out.push(spec);
  }
  return out;
}

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (/\.(ts|mts|js|mjs|cjs)$/.test(e.name)) yield p;
  }
}

describe('folder boundaries', () => {
  it('finds an import of bench/ when there is one', () => {
    const file = join(ROOT, 'test', 'unit', 'x.test.ts');
    expect(benchImports(file, "import { freePort } from '../../bench/proc.js';")).toEqual([
      '../../bench/proc.js',
    ]);
    expect(benchImports(file, "await import('../../bench/run.js')")).toHaveLength(1);
    expect(
      benchImports(file, "new URL('../../dist/bench/bare-proxy.js', import.meta.url)"),
    ).toHaveLength(1);
    expect(benchImports(file, "import { x } from '../helpers/ports.js';")).toEqual([]);
  });

  it('nothing under src/ or test/ imports from bench/', () => {
    const found: string[] = [];
    for (const dir of ['src', 'test'])
      for (const file of sources(join(ROOT, dir)))
        if (file !== HERE)
          for (const spec of benchImports(file, readFileSync(file, 'utf8')))
            found.push(`${relative(ROOT, file)}: ${spec}`);
    expect(found).toEqual([]);
  });
});
