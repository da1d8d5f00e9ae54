// The cluster label option of the rule and dashboard generators (kubernetes-mixin calls it
// `clusterLabel`). Several clusters' Prometheus servers remote_write into one global store
// (Thanos, Mimir, a central Prometheus), each adding an external label such as `cluster="eu"`.
// Evaluated there, a `sum by (job)` adds every cluster together: one cluster's outage is diluted
// by the healthy ones and a page names no cluster. With the option set, every aggregation and
// every vector match keeps the cluster label, so each cluster is judged on its own.
//
// The generators write their expressions for one cluster; the rewrite below is applied to the
// finished expressions, so a rule or panel added later keeps clusters apart without knowing
// about them. A test checks every generated expression for it.

/** Aggregation operators: each gets the cluster label in its `by (...)` list. */
const AGGREGATIONS =
  'sum|min|max|avg|count|group|stddev|stdvar|topk|bottomk|quantile|count_values|limitk';

/** A PromQL string literal (double-quoted, with escapes), left untouched by the rewrite. */
const STRING = /"(?:[^"\\]|\\.)*"/g;

/** The label name the option accepts (a Prometheus label name; `__` names are reserved). */
export function validClusterLabel(label, setting = '--cluster-label') {
  if (label === undefined || label === '') return '';
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label) || label.startsWith('__'))
    throw new Error(`${setting} ${label} is not a valid Prometheus label name`);
  return label;
}

/** Applies `fn` to the parts of `expr` outside string literals. */
function outsideStrings(expr, fn) {
  let out = '';
  let last = 0;
  for (const m of expr.matchAll(STRING)) {
    out += fn(expr.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + fn(expr.slice(last));
}

/** A label list with `label` first, unless it is already there. */
function withLabel(list, label) {
  const labels = list
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  return labels.includes(label) ? labels.join(', ') : [label, ...labels].join(', ');
}

/**
 * `expr` with the cluster label kept by every aggregation (`sum by (job)` becomes
 * `sum by (cluster, job)`, a bare `sum(` becomes `sum by (cluster) (`) and every vector match
 * (`on (job, instance)`, `on ()`). `without (...)` keeps it already; `absent()` cannot, and
 * the rules that use it say per cluster what they mean instead.
 */
export function keepCluster(expr, label) {
  if (!label) return expr;
  return outsideStrings(expr, (text) =>
    text
      .replace(
        /\b(by|on)(\s*)\(([^)]*)\)/g,
        (_m, kw, sp, list) => `${kw}${sp}(${withLabel(list, label)})`,
      )
      .replace(
        new RegExp(`\\b(${AGGREGATIONS})(\\s*)\\(`, 'g'),
        (_m, op) => `${op} by (${label}) (`,
      ),
  );
}

/**
 * `text` (a PromQL query inside a Go template string) restricted to the alert's own cluster:
 * every selector naming the job also matches `label="%[1]s"`, to be filled in by `printf`
 * with `$labels.<label>`, and aggregations keep the label.
 */
function inClusterOf(text, label) {
  const bare = text.replace(/\\"/g, '"').replace(/%/g, '%%');
  const scoped = bare.replace(
    /\{([^{}]*\bjob="[^"]*"[^{}]*)\}/g,
    (_m, body) => `{${body},${label}="%[1]s"}`,
  );
  return keepCluster(scoped, label).replace(/"/g, '\\"');
}

/**
 * Annotations that name the cluster: each `{{ $labels.job }}` becomes "job in cluster X" (a
 * description without one starts with the cluster), and each `query "..."` of a template is
 * run for the alert's own cluster, so a note about the status page or the P90 latency is about
 * the cluster that fired.
 */
export function clusterAnnotations(annotations, label) {
  if (!label) return annotations;
  const out = {};
  for (const [key, value] of Object.entries(annotations)) {
    let v = value.replace(
      /query "((?:[^"\\]|\\.)*)"/g,
      (_m, q) => `printf "${inClusterOf(q, label)}" $labels.${label} | query`,
    );
    if (key === 'description') {
      v = v.includes('{{ $labels.job }}')
        ? v.replaceAll('{{ $labels.job }}', `{{ $labels.job }} in cluster {{ $labels.${label} }}`)
        : `In cluster {{ $labels.${label} }}: ${v}`;
    }
    out[key] = v;
  }
  return out;
}
