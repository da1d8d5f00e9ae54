#!/usr/bin/env node
// Writes alerts/nylas-sidecar.rules.yml from the one definition in rules.mjs (and its groups/).
//
//   node scripts/alerts/generate.mjs                 # the committed file (npm run alerts:generate)
//   node scripts/alerts/generate.mjs --slo 99.5 --job my-sidecar --out /etc/prometheus/rules
//   node scripts/alerts/generate.mjs --test-timing --out /tmp/x   # short windows, for tests only
//   node scripts/alerts/generate.mjs --cluster-label cluster --out DIR   # for a global store
//   node scripts/alerts/generate.mjs --check         # exit 1 if the committed file is out of date
// Without --out it also writes the same groups as a PrometheusRule into deploy/kubernetes/, and
// the variant that keeps clusters apart (--cluster-label cluster) into alerts/multi-cluster/.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PROMETHEUS_RULE_FILE, renderPrometheusRule } from './prometheus-rule.mjs';
import { renderRules } from './rules.mjs';

/** Name of the generated rule file inside the output directory. */
export const RULES_FILE = 'nylas-sidecar.rules.yml';

/** Where the committed multi-cluster variant lives, and the cluster label it keeps. */
export const MULTI_CLUSTER_DIR = 'alerts/multi-cluster';
const MULTI_CLUSTER_LABEL = 'cluster';

const USAGE = `Usage: node scripts/alerts/generate.mjs [options]

  --out DIR                   where to write ${RULES_FILE} (default: alerts/ of this repository)
  --slo PERCENT               availability objective (default 99.9, Nylas's published success rate)
  --job NAME                  Prometheus job label of the sidecar's scrape (default nylas-sidecar)
  --runbook-base URL          runbook_url prefix, e.g. https://git.example.com/ops/nylas-runbook.md
                              (default alerts/runbook.md; each alert appends #<alertname>)
  --latency-threshold SEC     P90 latency target; must be a bucket of SIDECAR_LATENCY_BUCKETS (default 0.5)
  --poller-stale-seconds SEC  a poller without success for this long alerts (default 900)
  --failing-warn-seconds SEC  alert when a destination or channel has been failing this long, on its
                              way to Nylas marking it failed at 72 h (default 86400, 24 h)
  --cluster-label LABEL       keep this label in every aggregation, for rules evaluated in a global
                              store that several clusters remote_write into with external_labels
                              {LABEL: ...} (default: off; the committed alerts/multi-cluster/ uses
                              cluster)
  --test-timing               shorten windows and \`for\` for tests that scrape every second
  --prometheus-rule FILE      also write the rules as a PrometheusRule (Prometheus Operator) to FILE
                              (default without --out: ${PROMETHEUS_RULE_FILE})
  --check                     compare with the files instead of writing; exit 1 if one differs
`;

function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      slo: { type: 'string' },
      job: { type: 'string' },
      'runbook-base': { type: 'string' },
      'latency-threshold': { type: 'string' },
      'poller-stale-seconds': { type: 'string' },
      'failing-warn-seconds': { type: 'string' },
      'cluster-label': { type: 'string' },
      'test-timing': { type: 'boolean' },
      'prometheus-rule': { type: 'string' },
      check: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values['cluster-label'] !== undefined && values.out === undefined)
    throw new Error(
      `--cluster-label needs --out: alerts/ holds the single-cluster rules (the committed variant with --cluster-label ${MULTI_CLUSTER_LABEL} is ${MULTI_CLUSTER_DIR}/)`,
    );
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const out = resolve(values.out ?? join(root, 'alerts'));
  const options = {
    slo: values.slo,
    job: values.job,
    runbookBase: values['runbook-base'],
    latencyThreshold: values['latency-threshold'],
    pollerStaleSeconds: values['poller-stale-seconds'],
    failingWarnSeconds: values['failing-warn-seconds'],
    clusterLabel: values['cluster-label'],
    testTiming: values['test-timing'],
  };
  const files = [[join(out, RULES_FILE), renderRules(options)]];
  if (values.out === undefined && values['cluster-label'] === undefined)
    files.push([
      join(root, MULTI_CLUSTER_DIR, RULES_FILE),
      renderRules({ ...options, clusterLabel: MULTI_CLUSTER_LABEL }),
    ]);
  const ruleObject =
    values['prometheus-rule'] ?? (values.out === undefined ? join(root, PROMETHEUS_RULE_FILE) : '');
  if (ruleObject) files.push([resolve(ruleObject), renderPrometheusRule(options)]);
  if (values.check) {
    let stale = 0;
    for (const [file, text] of files) {
      let current = '';
      try {
        current = readFileSync(file, 'utf8');
      } catch {
        // A missing file is simply out of date.
      }
      if (current !== text) {
        process.stderr.write(`${file} is out of date: run npm run alerts:generate\n`);
        stale++;
      }
    }
    return stale === 0 ? 0 : 1;
  }
  for (const [file, text] of files) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    process.stdout.write(`wrote ${file}\n`);
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`generate: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  process.exitCode = 2;
}
