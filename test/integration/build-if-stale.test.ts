// `npm start` runs scripts/build-if-stale.mjs first: no tsc when dist/ is newer than every source,
// a build when a source changed. Run on a copy of the script in a scratch tree, with a stand-in
// `npx` on PATH that records that it was asked to build.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/build-if-stale.mjs', import.meta.url));

describe('npm start building only when needed', () => {
  it('skips tsc when dist/ is current and builds when a source is newer', () => {
    const root = mkdtempSync(join(tmpdir(), 'sidecar-build-'));
    for (const d of ['scripts', 'src', 'bench', 'dist/src', 'bin'])
      mkdirSync(join(root, d), { recursive: true });
    copyFileSync(SCRIPT, join(root, 'scripts', 'build-if-stale.mjs'));
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src/main.ts'])
      writeFileSync(join(root, f), '{}\n');
    const marker = join(root, 'built');
    writeFileSync(join(root, 'bin', 'npx'), `#!/bin/sh\necho "$@" > ${marker}\n`);
    chmodSync(join(root, 'bin', 'npx'), 0o755);
    const past = new Date(Date.now() - 60_000);
    for (const f of [
      'package.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src/main.ts',
      'src',
      'bench',
      'scripts',
    ])
      utimesSync(join(root, f), past, past);
    writeFileSync(join(root, 'dist', 'src', 'main.js'), '');

    const run = () =>
      spawnSync(process.execPath, [join(root, 'scripts', 'build-if-stale.mjs')], {
        env: { PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}` },
        encoding: 'utf8',
      });
    const current = run();
    expect(current.status).toBe(0);
    expect(current.stderr).toBe('');
    expect(existsSync(marker)).toBe(false);

    const future = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'src', 'main.ts'), future, future);
    const stale = run();
    expect(stale.status).toBe(0);
    expect(stale.stderr).toContain('building');
    expect(existsSync(marker)).toBe(true);
  });
});
