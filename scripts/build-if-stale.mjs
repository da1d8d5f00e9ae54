#!/usr/bin/env node
// `npm start` runs this first: it builds with tsc only when dist/ is older than the sources, so a
// second start does not wait ~10 s for a compile that changes nothing. tsc (not incremental)
// rewrites every output, so dist/src/main.js is as old as the last build, `npm run build`
// included; any source, tsconfig or package.json newer than it means a rebuild.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const MAIN = join(root, 'dist', 'src', 'main.js');
const INPUTS = ['src', 'bench', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

/** Newest modification time under a file or directory (ms), 0 when absent. */
function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs; // a deleted file shows as a newer directory
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

const built = newest(MAIN);
const sources = Math.max(...INPUTS.map((p) => newest(join(root, p))));
if (built > 0 && built >= sources) process.exit(0);
process.stderr.write('nylas-sidecar: building (tsc)…\n');
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const r = spawnSync(npx, ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
