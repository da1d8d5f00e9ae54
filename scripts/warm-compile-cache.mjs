#!/usr/bin/env node
// Fills a Node compile cache directory (NODE_COMPILE_CACHE, Node >= 22.1) with V8's compiled code
// of the modules the sidecar loads on start-up, so that a process started with the same variable
// reads compiled code instead of compiling every module again, as an image could warm one at
// build time. `npm run bench -- --footprint --compile-cache` measures what that saves and costs.
//
//   node scripts/warm-compile-cache.mjs DIR     (dist/ built; run it as the user that will read it)
//
// Node names the cache's subdirectory after its version, V8's flags and the uid of the process:
// the cache serves only the same Node binary run by the same user, and its entries are keyed by
// file path and checked against the source. A process that reads it keeps the entries it used in
// memory (to write back what changed at exit; on a read-only directory that write fails
// silently). On Node 20 there is no compile cache: DIR stays empty and the variable is ignored.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node scripts/warm-compile-cache.mjs DIR\n');
  process.exit(2);
}
const cache = resolve(dir);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(cache, { recursive: true });

// --check-config loads main.js and everything it imports statically, then exits (which is when
// Node writes the cache); the --import modules are those loaded later with import(): span
// export (tracing/export.ts: the trace SDK and the OTLP exporter, loaded before the listeners
// start when an OTLP endpoint is set), the pollers' response schemas and the status pages.
const r = spawnSync(
  process.execPath,
  [
    '--import',
    './dist/src/tracing/export.js',
    '--import',
    './dist/src/nylas/schemas.js',
    '--import',
    './dist/src/admin/status.js',
    'dist/src/main.js',
    '--check-config',
  ],
  {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_COMPILE_CACHE: cache,
      SIDECAR_ROLE: 'proxy',
      NYLAS_API_KEY: 'compile-cache-warm-up',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
if (r.status !== 0) {
  process.stderr.write(
    `warm-compile-cache: the sidecar's --check-config exited with ${r.status}\n`,
  );
  process.exit(1);
}

// Node writes the entries readable by their owner only; a cache copied into an image as root's
// is to be read (never written) by the user the sidecar runs as.
(function readable(d) {
  chmodSync(d, 0o755);
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) readable(p);
    else chmodSync(p, 0o644);
  }
})(cache);
