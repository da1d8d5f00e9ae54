// Test-only preload (`NODE_OPTIONS=--import <this file>`): records every module file the process
// loads into the file named by RECORD_MODULES_TO, one per line, so a test can say which packages
// a role loads. ES modules are recorded as they resolve (a loader hook, on its own thread), and
// CommonJS ones from the require cache when the process exits.
import { appendFileSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';

const out = process.env.RECORD_MODULES_TO;
if (out) {
  writeFileSync(out, '');
  register(new URL('./record-modules-hooks.mjs', import.meta.url), { data: { out } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    const here = fileURLToPath(import.meta.url);
    const files = Object.keys(cache).filter((f) => f !== here);
    appendFileSync(out, files.map((f) => `${f}\n`).join(''));
  });
}
