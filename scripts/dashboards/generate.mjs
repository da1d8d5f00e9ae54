#!/usr/bin/env node
// Writes the Grafana dashboards in dashboards/ from the definitions in this folder.
//   node scripts/dashboards/generate.mjs           write dashboards/*.json
//   node scripts/dashboards/generate.mjs --check   exit 1 if a committed file differs
//   node scripts/dashboards/generate.mjs --cluster-label cluster --out DIR
//       the dashboards for a global store that several clusters remote_write into, each with
//       external_labels {cluster: ...}: a cluster variable, every query keeping clusters apart
// The dashboard tests run the check, so an edit to dashboards/*.json by hand fails CI. The same
// JSON is also written as ConfigMaps for Kubernetes (configmaps.mjs).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { validClusterLabel } from '../alerts/cluster.mjs';
import apiOverview from './api-overview.mjs';
import { clusterDashboard } from './cluster.mjs';
import { CONFIGMAPS_FILE, renderDashboardConfigMaps } from './configmaps.mjs';
import grants from './grants.mjs';
import platform from './platform.mjs';
import webhooks from './webhooks.mjs';

/** The dashboards directory of the repository. */
export const DASHBOARDS_DIR = fileURLToPath(new URL('../../dashboards/', import.meta.url));

/** The repository root (the generated ConfigMaps' path is relative to it). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * File name (in dashboards/) to dashboard JSON text, exactly as committed. With `clusterLabel`,
 * the variant that keeps the clusters of a global store apart (not committed: generated with
 * --cluster-label and --out).
 */
export function renderDashboards({ clusterLabel = '' } = {}) {
  const label = validClusterLabel(clusterLabel);
  const out = {};
  for (const d of [apiOverview, grants, webhooks, platform]) {
    out[`${d.uid}.json`] = `${JSON.stringify(clusterDashboard(d, label), null, 2)}\n`;
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
  const { values } = parseArgs({
    args: argv,
    options: {
      check: { type: 'boolean' },
      'cluster-label': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const check = values.check === true;
  if (values['cluster-label'] !== undefined || values.out !== undefined) {
    if (values.out === undefined)
      throw new Error(
        '--cluster-label needs --out: dashboards/ holds the single-cluster dashboards',
      );
    const dir = resolve(values.out);
    mkdirSync(dir, { recursive: true });
    const rendered = renderDashboards({ clusterLabel: values['cluster-label'] });
    for (const [name, text] of Object.entries(rendered)) {
      writeFileSync(join(dir, name), text);
      process.stdout.write(`wrote ${join(dir, name)}\n`);
    }
    return;
  }
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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`generate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
