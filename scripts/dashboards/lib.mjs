// Small builders for Grafana dashboard JSON, so that the dashboards in dashboards/ are written
// as compact panel definitions (scripts/dashboards/*.mjs) instead of pasted exports: a fixed uid,
// the `datasource` variable on every panel and query, no leftover ids, units and thresholds set.

/** The datasource every panel, query, variable and annotation uses: the `datasource` variable. */
export const DS = Object.freeze({ type: 'prometheus', uid: '${datasource}' });

/** Tag shared by the four dashboards; the dashboard links list every dashboard with it. */
export const TAG = 'nylas-sidecar';

/** Availability objective: Nylas's published API success rate, 99.9 %. */
export const SLO = 0.999;
/** Nylas's published P90 latency target, seconds; also a bucket boundary of the histogram. */
export const LATENCY_TARGET_S = 0.5;

/** Selector shared by every query: the sidecar job chosen in the `job` variable. */
export const JOB = 'job=~"$job"';

/** Joins matchers into a selector body, dropping empty ones. */
export function sel(...matchers) {
  return `{${matchers.filter(Boolean).join(',')}}`;
}

/** Threshold steps from a base colour and [value, colour] pairs. */
export function steps(base, ...pairs) {
  return {
    mode: 'absolute',
    steps: [{ color: base, value: null }, ...pairs.map(([value, color]) => ({ color, value }))],
  };
}

/** A PromQL query of a panel. */
export function q(expr, legendFormat = '__auto', opts = {}) {
  return { expr, legendFormat, ...opts };
}

/** Value mappings for an enum encoded as 0..n-1: [[text, colour], ...]. */
export function enumMappings(states) {
  const options = {};
  states.forEach(([text, color], index) => {
    options[String(index)] = { text, color, index };
  });
  return [{ type: 'value', options }];
}

/**
 * A poller-derived series read from the freshest polling instance only (the one whose `poller`
 * last succeeded most recently), as the alert rules do: with several instances polling, a stale
 * one keeps its last snapshot and must not win a max() or double a sum(). Self-contained (no
 * recording rule), so the dashboards work without the rules loaded.
 */
export function fresh(metric, poller, ...matchers) {
  const last = `nylas_poller_last_success_timestamp_seconds${sel(JOB, `poller="${poller}"`)}`;
  return `(${metric}${sel(JOB, ...matchers)} and on (job, instance) (${last} == on (job, poller) group_left max by (job, poller) (${last})))`;
}

/**
 * Folds a StateSet (one 0/1 series per state) into one number per entity, so a state timeline
 * can colour it: state i counts as i. Relies on the poller setting exactly one state to 1; reads
 * the freshest polling instance and takes max, so several instances never add up.
 */
export function stateSetIndex(metric, poller, by, states, matchers) {
  return states
    .map((state, i) => {
      const s = `max by (${by}) ${fresh(metric, poller, ...matchers, `status="${state}"`)}`;
      return i === 0 ? `${s} * 0` : i === 1 ? s : `${s} * ${i}`;
    })
    .join(' + ');
}

function target(query, refId, kind) {
  const t = {
    datasource: DS,
    editorMode: 'code',
    expr: query.expr,
    legendFormat: query.legendFormat,
    range: kind !== 'instant',
    instant: kind === 'instant',
    refId,
  };
  if (kind === 'table' || kind === 'instant') t.format = 'table';
  if (kind === 'heatmap') t.format = 'heatmap';
  if (query.exemplar) t.exemplar = true;
  if (query.hide) t.hide = true;
  return t;
}

function targets(queries, kind) {
  return queries.map((query, i) => target(query, String.fromCharCode(65 + i), kind));
}

function base(type, p) {
  const panel = {
    type,
    title: p.title,
    description: p.description ?? '',
    datasource: DS,
  };
  if (p.links) panel.links = p.links;
  if (p.repeat) {
    panel.repeat = p.repeat;
    panel.repeatDirection = 'h';
    panel.maxPerRow = 4;
  }
  return panel;
}

function fieldDefaults(p, custom) {
  const defaults = {
    unit: p.unit ?? 'short',
    color: p.color ?? { mode: p.thresholdColors ? 'thresholds' : 'palette-classic' },
    thresholds: p.thresholds ?? steps('green'),
    mappings: p.mappings ?? [],
  };
  if (p.min !== undefined) defaults.min = p.min;
  if (p.max !== undefined) defaults.max = p.max;
  if (p.decimals !== undefined) defaults.decimals = p.decimals;
  if (custom) defaults.custom = custom;
  return { defaults, overrides: p.overrides ?? [] };
}

/**
 * A time series panel. `thresholdLine` draws the thresholds as a dashed line (the SLO, the
 * latency target, the 10 s webhook timeout).
 */
export function timeseries(p) {
  return {
    ...base('timeseries', p),
    w: p.w ?? 12,
    h: p.h ?? 8,
    fieldConfig: fieldDefaults(p, {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: p.stack ? 30 : 10,
      showPoints: 'never',
      spanNulls: false,
      stacking: { mode: p.stack ? 'normal' : 'none', group: 'A' },
      axisSoftMin: 0,
      thresholdsStyle: { mode: p.thresholdLine ? 'dashed' : 'off' },
    }),
    options: {
      legend: {
        showLegend: true,
        displayMode: p.legendTable ? 'table' : 'list',
        placement: p.legendTable ? 'right' : 'bottom',
        calcs: p.legendTable ? ['mean', 'max', 'lastNotNull'] : [],
      },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: targets(p.queries, 'range'),
  };
}

/** A single-value panel. */
export function stat(p) {
  return {
    ...base('stat', p),
    w: p.w ?? 4,
    h: p.h ?? 4,
    fieldConfig: fieldDefaults({ ...p, thresholdColors: true }),
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: p.graph === false ? 'none' : 'area',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: 'auto',
    },
    targets: targets(p.queries, p.instant ? 'instant' : 'range'),
  };
}

/** A table of an instant query: one row per series, label columns renamed, Time hidden. */
export function table(p) {
  return {
    ...base('table', p),
    w: p.w ?? 12,
    h: p.h ?? 8,
    fieldConfig: fieldDefaults(p, { align: 'auto', cellOptions: { type: 'auto' } }),
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false } },
    targets: targets(p.queries, 'instant'),
    transformations: [
      // Several queries keyed by the same labels (one row per instance): joined into one table.
      ...(p.merge ? [{ id: 'merge', options: {} }] : []),
      {
        id: 'organize',
        options: {
          excludeByName: Object.fromEntries((p.hide ?? ['Time']).map((c) => [c, true])),
          renameByName: p.rename ?? {},
          indexByName: {},
        },
      },
    ],
  };
}

/** A state timeline: one lane per series, coloured by value mappings. */
export function stateTimeline(p) {
  return {
    ...base('state-timeline', p),
    w: p.w ?? 12,
    h: p.h ?? 8,
    fieldConfig: fieldDefaults({ ...p, thresholdColors: true }, { fillOpacity: 80, lineWidth: 0 }),
    options: {
      mergeValues: true,
      showValue: 'never',
      alignValue: 'left',
      rowHeight: 0.9,
      legend: { showLegend: true, displayMode: 'list', placement: 'bottom' },
      tooltip: { mode: 'single', sort: 'none' },
    },
    targets: targets(p.queries, 'range'),
  };
}

/** A heatmap of a Prometheus histogram's buckets (already bucketed: no calculation). */
export function heatmap(p) {
  return {
    ...base('heatmap', p),
    w: p.w ?? 12,
    h: p.h ?? 8,
    fieldConfig: { defaults: { custom: { scaleDistribution: { type: 'linear' } } }, overrides: [] },
    options: {
      calculate: false,
      cellGap: 1,
      color: {
        mode: 'scheme',
        scheme: 'Oranges',
        fill: 'dark-orange',
        scale: 'exponential',
        exponent: 0.5,
        steps: 64,
        reverse: false,
      },
      exemplars: { color: 'rgba(255,0,255,0.7)' },
      filterValues: { le: 1e-9 },
      legend: { show: true },
      rowsFrame: { layout: 'auto' },
      tooltip: { mode: 'single', yHistogram: true, showColorScale: false },
      yAxis: { axisPlacement: 'left', unit: p.unit ?? 's', reverse: false },
      showValue: 'never',
    },
    targets: targets(p.queries, 'heatmap'),
  };
}

/** A row header; panels after it belong to it. */
export function row(title) {
  return { type: 'row', title, w: 24, h: 1 };
}

/** A `datasource` variable of the given plugin type. */
export function datasourceVar(name, pluginType, label) {
  return {
    name,
    label,
    type: 'datasource',
    query: pluginType,
    current: {},
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
    skipUrlSync: false,
  };
}

/**
 * A query variable `name` (shown as `label`), filled from `label_values(metric, ...)` of the
 * label `opts.of` (default: the label of the same name). `opts.all` false: one value, no All.
 */
export function labelVar(name, label, metric, opts = {}) {
  const query = `label_values(${metric}, ${opts.of ?? name})`;
  const v = {
    name,
    label,
    type: 'query',
    datasource: DS,
    definition: query,
    query: { qryType: 1, query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    current: {},
    hide: 0,
    includeAll: opts.all ?? true,
    multi: opts.all ?? true,
    options: [],
    refresh: 2,
    regex: '',
    skipUrlSync: false,
    sort: 1,
  };
  if (v.includeAll) v.allValue = '.*';
  return v;
}

/** The `job` variable: which sidecar deployment the dashboard shows. */
export function jobVar() {
  return labelVar('job', 'Sidecar job', 'nylas_sidecar_build_info', { all: false });
}

/**
 * Annotations from the Nylas status page: unresolved incidents and maintenance in progress,
 * drawn as regions on every time series of a dashboard.
 */
export function statusPageAnnotations() {
  return [
    {
      name: 'Nylas incidents',
      enable: true,
      hide: false,
      iconColor: 'red',
      datasource: DS,
      expr: `max by (incident_id, impact, status) ${fresh('nylas_status_page_incident_info', 'status_page')}`,
      step: '60s',
      titleFormat: 'Nylas status page incident ({{impact}})',
      textFormat: 'Incident {{incident_id}}: {{status}}',
      tagKeys: 'impact,status',
      useValueForTime: false,
    },
    {
      name: 'Nylas maintenance',
      enable: true,
      hide: false,
      iconColor: 'blue',
      datasource: DS,
      expr: `max${fresh('nylas_status_page_maintenance_active', 'status_page')} > 0`,
      step: '60s',
      titleFormat: 'Nylas scheduled maintenance in progress',
      textFormat: '',
      tagKeys: '',
      useValueForTime: false,
    },
  ];
}

/** A panel link to another of the four dashboards, keeping time range and variables. */
export function dashLink(title, uid) {
  return {
    title,
    url: `/d/${uid}?\${__url_time_range}&\${datasource:queryparam}&\${job:queryparam}`,
  };
}

/** Lays panels out left to right in a 24-column grid, wrapping; rows start a new line. */
function layout(items) {
  const panels = [];
  let x = 0;
  let y = 0;
  let rowH = 0;
  let id = 1;
  for (const item of items) {
    const { w, h, ...panel } = item;
    if (panel.type === 'row' || x + w > 24) {
      y += rowH;
      x = 0;
      rowH = 0;
    }
    panels.push({ ...panel, id: id++, gridPos: { h, w, x, y } });
    if (panel.type === 'row') {
      panels[panels.length - 1] = { ...panels[panels.length - 1], collapsed: false, panels: [] };
      y += h;
      continue;
    }
    x += w;
    rowH = Math.max(rowH, h);
  }
  return panels;
}

/** A whole dashboard: fixed uid, UTC, the shared tag and links, variables, annotations. */
export function dashboard(d) {
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: [TAG, 'nylas', ...(d.tags ?? [])],
    timezone: 'utc',
    editable: true,
    graphTooltip: 1,
    fiscalYearStartMonth: 0,
    liveNow: false,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    weekStart: '',
    links: [
      {
        title: 'Nylas dashboards',
        type: 'dashboards',
        tags: [TAG],
        asDropdown: false,
        includeVars: true,
        keepTime: true,
        targetBlank: false,
        icon: 'external link',
        tooltip: '',
        url: '',
      },
    ],
    annotations: { list: d.annotations ?? [] },
    templating: {
      list: [
        datasourceVar('datasource', 'prometheus', 'Prometheus'),
        jobVar(),
        ...(d.variables ?? []),
      ],
    },
    panels: layout(d.panels),
  };
}
