#!/usr/bin/env node
// Writes the Grafana dashboards in dashboards/ from the definitions in this folder.
//   node scripts/dashboards/generate.mjs           write dashboards/*.json
//   node scripts/dashboards/generate.mjs --check   exit 1 if a committed file differs
// The dashboard tests run the check, so an edit to dashboards/*.json by hand fails CI. The same
// JSON is also written as ConfigMaps for Kubernetes (configmaps.mjs).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import apiOverview from './api-overview.mjs';
import { CONFIGMAPS_FILE, renderDashboardConfigMaps } from './configmaps.mjs';
import grants from './grants.mjs';
import platform from './platform.mjs';
import webhooks from './webhooks.mjs';

/** The dashboards directory of the repository. */
export const DASHBOARDS_DIR = fileURLToPath(new URL('../../dashboards/', import.meta.url));

/** The repository root (the generated ConfigMaps' path is relative to it). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** File name (in dashboards/) to dashboard JSON text, exactly as committed. */
export function renderDashboards() {
  const out = {};
  for (const d of [apiOverview, grants, webhooks, platform]) {
    out[`${d.uid}.json`] = `${JSON.stringify(d, null, 2)}\n`;
  }
  return out;
}

/** Repository-relative path to text of every file the generator writes. */
function renderAll() {
  const dashboards = renderDashboards();
  const out = {};
  for (const [name, text] of Object.entries(dashboards)) out[`dashboards/${name}`] = text;
  out[CONFIGMAPS_FILE] = renderDashboardConfigMaps(dashboards);
  return out;
}

function main(argv) {
  const check = argv.includes('--check');
  let stale = 0;
  for (const [name, text] of Object.entries(renderAll())) {
    const path = `${ROOT}${name}`;
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        // a missing file counts as stale
      }
      if (current !== text) {
        process.stderr.write(`${name} is not what the generator writes\n`);
        stale++;
      }
    } else {
      writeFileSync(path, text);
      process.stdout.write(`wrote ${name}\n`);
    }
  }
  if (stale > 0) {
    process.stderr.write('run: node scripts/dashboards/generate.mjs\n');
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  main(process.argv.slice(2));
