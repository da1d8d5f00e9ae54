// The dashboards for a global store that several clusters remote_write into (the generators'
// cluster label option, as in the rules): a `cluster` variable next to `job`, every selector
// filtered by it, and every aggregation and vector match keeping the cluster label, so that
// choosing several clusters (or All) shows them side by side instead of adding them together.
// Applied to the finished dashboards, so a panel added later is covered without knowing about
// clusters; the dashboards test checks every query of the result.
import { keepCluster } from '../alerts/cluster.mjs';
import { JOB, labelVar } from './lib.mjs';

/** The Grafana variable that picks the clusters, filled from the build info every role exports. */
function clusterVar(label) {
  return labelVar('cluster', 'Cluster', 'nylas_sidecar_build_info', { of: label });
}

/** One panel query's PromQL for the chosen clusters, each cluster kept apart. */
export function clusterQuery(expr, label) {
  return keepCluster(
    expr
      // `or vector(0)` shows 0 instead of no data; per cluster, a 0 for each cluster scraped.
      .replaceAll('vector(0)', `0 * count(up{${JOB}})`)
      .replaceAll(JOB, `${JOB},${label}=~"$cluster"`),
    label,
  );
}

/** A legend that says which cluster a series is from (Grafana's `__auto` already does). */
function clusterLegend(legend, label) {
  if (legend === undefined || legend === '__auto' || legend.includes(`{{${label}}}`)) return legend;
  return `{{${label}}} ${legend}`.trim();
}

function rewritePanels(panels, label) {
  return panels.map((p) => {
    const out = { ...p };
    if (p.targets)
      out.targets = p.targets.map((t) => ({
        ...t,
        expr: clusterQuery(t.expr, label),
        legendFormat: clusterLegend(t.legendFormat, label),
      }));
    if (p.links)
      out.links = p.links.map((l) => ({
        ...l,
        url: l.url.replace('${job:queryparam}', '${job:queryparam}&${cluster:queryparam}'),
      }));
    if (p.panels) out.panels = rewritePanels(p.panels, label);
    return out;
  });
}

/** `dash` (a generated dashboard) keeping the clusters of label `label` apart. */
export function clusterDashboard(dash, label) {
  if (!label) return dash;
  const list = [...dash.templating.list];
  list.splice(list.findIndex((v) => v.name === 'job') + 1, 0, clusterVar(label));
  return {
    ...dash,
    annotations: {
      // Each cluster's pollers report its own Nylas region's status page: the title says which.
      list: dash.annotations.list.map((a) =>
        a.expr
          ? {
              ...a,
              expr: clusterQuery(a.expr, label),
              titleFormat: `{{${label}}}: ${a.titleFormat}`,
            }
          : a,
      ),
    },
    templating: { list },
    panels: rewritePanels(dash.panels, label),
  };
}
