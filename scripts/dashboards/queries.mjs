// Reads the PromQL out of the generated dashboards, so the tests can parse every query with
// promtool, check every metric name against the catalog and run every query against Prometheus.

/**
 * Every PromQL expression of a dashboard: panel targets (rows included), annotations.
 * Each entry says where it comes from, for test messages.
 */
export function dashboardQueries(dash) {
  const out = [];
  const visit = (panels) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) {
        out.push({ where: `${dash.uid} / ${p.title} / ${t.refId}`, panel: p.title, expr: t.expr });
      }
      visit(p.panels);
    }
  };
  visit(dash.panels);
  for (const a of dash.annotations?.list ?? []) {
    if (a.expr)
      out.push({
        where: `${dash.uid} / annotation ${a.name}`,
        panel: `annotation ${a.name}`,
        expr: a.expr,
      });
  }
  return out;
}

/** The `label_values(metric, label)` queries of a dashboard's variables. */
export function variableQueries(dash) {
  return (dash.templating?.list ?? [])
    .filter((v) => v.type === 'query')
    .map((v) => {
      const text = typeof v.query === 'string' ? v.query : v.query.query;
      const m =
        /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(
          text,
        );
      return { name: v.name, text, metric: m?.[1], label: m?.[2] };
    });
}

/**
 * Replaces Grafana's variables with concrete values: `$__rate_interval`, `$__interval` and
 * `$__range` with durations, `$name`/`${name}` with `vars[name]` (a variable left unset is an
 * error, so a query can not silently keep a `$`).
 */
export function substitute(expr, vars, durations = {}) {
  const d = { __rate_interval: '1m', __interval: '15s', __range: '1h', ...durations };
  return expr.replace(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?/g, (_all, name) => {
    const v = name in d ? d[name] : vars[name];
    if (v === undefined) throw new Error(`no value for $${name} in ${expr}`);
    return v;
  });
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
  'atan2',
]);

/** Metric names a PromQL expression selects (functions, keywords and label names excluded). */
export function metricNames(expr) {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/(^|[^a-zA-Z0-9_:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, '$1 ');
  const names = new Set();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return names;
}
