#!/usr/bin/env node
// Writes docs/reference.md: every setting, metric family, span attribute and alert, read from the
// definitions themselves (the config schema, the metric catalog, the sources that set span
// attributes, the alert rule generator), so the reference cannot drift from the product.
//
//   npm run reference:generate                        # build, then write docs/reference.md
//   node scripts/reference/generate.mjs --check       # exit 1 if docs/reference.md is out of date
//   node scripts/reference/generate.mjs --out FILE    # write elsewhere (--check compares FILE)
//
// It reads the built sources in dist/ (`npm run build` first) and scripts/alerts/rules.mjs.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_OUT = join(ROOT, 'docs', 'reference.md');

/** Imports a module of the build; a missing build is one clear line, not a stack trace. */
async function built(path) {
  const file = join(ROOT, 'dist', path);
  if (!existsSync(file)) throw new Error(`${relative(ROOT, file)} is missing: run npm run build`);
  return import(pathToFileURL(file).href);
}

/** A table cell: one line, pipes escaped. */
const cell = (s) =>
  String(s ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
const code = (s) => `\`${s}\``;
const table = (head, rows) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`]
    .concat(rows.map((r) => `| ${r.map(cell).join(' | ')} |`))
    .join('\n');

/** What the reference says of a setting's field besides its meaning: its default and allowed values. */
function describeField(field) {
  const { default: def, optional = false, allowed } = field.info ?? {};
  return { def: def === undefined ? undefined : String(def), optional, allowed };
}

async function settings() {
  const { envSchema, SECRET_KEYS } = await built('src/config/schema.js');
  const { SETTING_DOCS } = await built('src/config/docs.js');
  const missing = [];
  const rows = Object.entries(envSchema.shape).map(([name, field]) => {
    const doc = SETTING_DOCS[name];
    if (!doc) missing.push(name);
    const { def, allowed } = describeField(field);
    const shown = doc?.default ?? (def === undefined || def === '' ? 'unset' : code(def));
    const meaning = [
      doc?.meaning ?? '',
      allowed ? `Allowed: ${allowed.map(code).join(', ')}.` : '',
      SECRET_KEYS.has(name) ? 'A secret: masked in every message, never logged.' : '',
    ]
      .filter(Boolean)
      .join(' ');
    return [code(name), shown, meaning];
  });
  if (missing.length)
    throw new Error(`setting(s) without a line in src/config/docs.ts: ${missing.join(', ')}`);
  return [
    '## Settings',
    '',
    'Environment variables, or the same keys in the YAML file named by `SIDECAR_CONFIG` (the',
    'environment wins). An unknown `SIDECAR_*` key is an error. OpenTelemetry’s own `OTEL_*`',
    'variables (endpoint, protocol, sampler, headers) are read as its specification says.',
    '',
    table(['variable', 'default', 'meaning'], rows),
  ].join('\n');
}

async function metrics() {
  const { createMetrics } = await built('src/metrics/catalog.js');
  const roles = ['proxy', 'pollers'];
  const byRole = Object.fromEntries(
    roles.map((role) => [
      role,
      createMetrics({ latencyBuckets: [0.5], version: '0', defaultMetrics: false, role })
        .registry.getMetricsAsArray()
        .map((m) => m.name),
    ]),
  );
  const all = createMetrics({ latencyBuckets: [0.5], version: '0', defaultMetrics: false });
  const rows = all.registry
    .getMetricsAsArray()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((m) => {
      const in_ = roles.filter((r) => byRole[r].includes(m.name));
      const exportedBy = in_.length === roles.length ? 'every role' : in_.join(', ');
      return [code(m.name), m.type, (m.labelNames ?? []).map(code).join(', '), exportedBy, m.help];
    });
  return [
    '## Metric families',
    '',
    'On the admin listener’s `/metrics`. "Exported by" is the `SIDECAR_ROLE` whose instances export',
    'the family (`all` exports every family). prom-client’s process and Node.js metrics are exported',
    'too.',
    '',
    table(['family', 'type', 'labels', 'exported by', 'what'], rows),
  ].join('\n');
}

/** Which spans the attributes set in a folder of src/ go on. */
const SPAN_OF_FOLDER = {
  tracing: 'proxied request',
  proxy: 'proxied request',
  pollers: 'poller run',
  webhooks: 'webhook delivery',
};
const ATTRIBUTE =
  /['"]((?:http|url|server|error|network|nylas|nylas_sidecar)\.[a-z_]+(?:\.[a-z_]+)*)['"]/g;

function* sources(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

async function spans() {
  const { SPAN_ATTRIBUTE_DOCS } = await built('src/tracing/attribute-docs.js');
  const docsFile = join(ROOT, 'src', 'tracing', 'attribute-docs.ts');
  /** attribute -> the spans it is set on */
  const found = new Map();
  for (const file of sources(join(ROOT, 'src'))) {
    if (file === docsFile) continue;
    const folder = relative(join(ROOT, 'src'), file).split(/[\\/]/)[0];
    const span = SPAN_OF_FOLDER[folder] ?? `${folder} spans`;
    for (const m of readFileSync(file, 'utf8').matchAll(ATTRIBUTE)) {
      if (!found.has(m[1])) found.set(m[1], new Set());
      found.get(m[1]).add(span);
    }
  }
  const missing = [...found.keys()].filter((k) => !SPAN_ATTRIBUTE_DOCS[k]);
  if (missing.length)
    throw new Error(
      `span attribute(s) without a line in src/tracing/attribute-docs.ts: ${missing.join(', ')}`,
    );
  const order = Object.values(SPAN_OF_FOLDER);
  const rank = (spansOf) => Math.min(...[...spansOf].map((s) => order.indexOf(s) >>> 0));
  const rows = [...found.entries()]
    .sort((a, b) => rank(a[1]) - rank(b[1]) || a[0].localeCompare(b[0]))
    .map(([name, on]) => [code(name), [...on].join(', '), SPAN_ATTRIBUTE_DOCS[name]]);
  return [
    '## Span attributes',
    '',
    'One CLIENT span per proxied request, named `{METHOD} {route}` and continuing the app’s',
    '`traceparent`; an INTERNAL span per poller run (`poll {poller}`); a SERVER span per webhook',
    'delivery (`webhook notification`, `webhook challenge`). No span holds a header value, key,',
    'secret, token, query string or body.',
    '',
    table(['attribute', 'set on', 'meaning'], rows),
  ].join('\n');
}

async function alerts() {
  const { buildRules } = await import(
    pathToFileURL(join(ROOT, 'scripts', 'alerts', 'rules.mjs')).href
  );
  if (typeof buildRules !== 'function')
    throw new Error('scripts/alerts/rules.mjs no longer exports buildRules: point alerts() at it');
  const { groups } = buildRules();
  const rows = groups.flatMap((g) =>
    g.rules
      .filter((r) => r.alert)
      .map((r) => [
        // The runbook URL is relative to the repository root with the default --runbook-base.
        r.annotations?.runbook_url ? `[${r.alert}](../${r.annotations.runbook_url})` : r.alert,
        r.labels?.severity ?? '',
        r.for ?? '0s',
        g.name,
        r.annotations?.summary ?? '',
      ]),
  );
  return [
    '## Alerts',
    '',
    'From the rule generator’s defaults (`npm run alerts:generate` writes',
    '`alerts/nylas-sidecar.rules.yml`); each alert has a section in `alerts/runbook.md`. An alert',
    'listed more than once has one rule per severity or burn window.',
    '',
    table(['alert', 'severity', 'for', 'group', 'summary'], rows),
  ].join('\n');
}

async function render() {
  return (
    [
      '# Reference',
      '',
      '<!-- GENERATED by `npm run reference:generate` (scripts/reference/generate.mjs): do not edit',
      'by hand. A test fails when this file differs from what the generator writes. -->',
      '',
      'Every setting, metric family, span attribute and alert of nylas-sidecar, generated from',
      'the config schema (`src/config/schema.ts`, meanings in `src/config/docs.ts`), the metric',
      'catalog (`src/metrics/catalog.ts`), the sources that set span attributes (meanings in',
      '`src/tracing/attribute-docs.ts`) and the alert rule generator (`scripts/alerts/`).',
      '',
      '- [Settings](#settings)',
      '- [Metric families](#metric-families)',
      '- [Span attributes](#span-attributes)',
      '- [Alerts](#alerts)',
      '',
      await settings(),
      '',
      await metrics(),
      '',
      await spans(),
      '',
      await alerts(),
    ].join('\n') + '\n'
  );
}

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, check: { type: 'boolean' } },
  });
  const out = resolve(values.out ?? DEFAULT_OUT);
  const text = await render();
  if (values.check) {
    const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
    if (current === text) return 0;
    process.stderr.write(`${relative(ROOT, out)} is out of date: run npm run reference:generate\n`);
    return 1;
  }
  writeFileSync(out, text);
  process.stdout.write(`wrote ${relative(ROOT, out)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`reference: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
