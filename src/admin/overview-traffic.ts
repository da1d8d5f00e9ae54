// The traffic part of the overview: four cards (rate, errors against the objective, 429s, latency
// against Nylas's 0.5 s P90) with inline SVG sparklines, and the per-route table.
import { escapeHtml as e } from './html.js';
import type { RouteTraffic, TrafficView, TrafficWindow } from './traffic.js';

/** The availability objective the alert rules use by default (Nylas's published 99.9 %). */
export const SLO = 0.999;
/** Nylas's published P90 latency target, in seconds. */
export const LATENCY_TARGET_SECONDS = 0.5;
/** A 429 share of requests above this is worth a red card (NylasApiRateLimited looks at 5 %). */
const RATE_LIMITED_BAD = 0.05;
/** Routes shown before folding. */
const ROUTES_SHOWN = 8;

type Level = 'ok' | 'warn' | 'bad' | 'muted';

export function rate(v: number): string {
  if (v === 0) return '0';
  if (v < 0.1) return v.toFixed(3);
  if (v < 10) return v.toFixed(2);
  return v.toFixed(1);
}

export function percent(ratio: number): string {
  const p = ratio * 100;
  if (p === 0) return '0 %';
  if (p < 0.1) return `${p.toFixed(3)} %`;
  if (p < 10) return `${p.toFixed(2)} %`;
  return `${p.toFixed(1)} %`;
}

export function duration(s: number | null): string {
  if (s === null) return '—';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  return `${s.toFixed(2)} s`;
}

/**
 * A small line chart of a series, scaled to its own maximum (or `floor`, whichever is larger) with
 * an optional dashed threshold line. Gaps (null) break the line.
 */
export function sparkline(
  values: readonly (number | null)[],
  opts: { floor?: number; threshold?: number; level?: Level; label: string },
): string {
  const w = 220;
  const h = 34;
  const pad = 2;
  const nums = values.filter((v): v is number => v !== null);
  const max = Math.max(opts.floor ?? 0, opts.threshold ?? 0, ...nums, 1e-9);
  const x = (i: number) =>
    pad + (values.length <= 1 ? w - 2 * pad : (i * (w - 2 * pad)) / (values.length - 1));
  const y = (v: number) => h - pad - (Math.min(v, max) / max) * (h - 2 * pad);
  const color = opts.level === 'bad' ? '#b3261e' : opts.level === 'warn' ? '#c98a00' : '#3a5ccc';
  const lines: string[] = [];
  let run: string[] = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (run.length) lines.push(run.join(' '));
      run = [];
    } else run.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
  });
  if (run.length) lines.push(run.join(' '));
  const polylines = lines
    .map((pts) =>
      pts.includes(' ')
        ? `<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${pts}"/>`
        : `<circle r="1.8" fill="${color}" cx="${pts.split(',')[0]}" cy="${pts.split(',')[1]}"/>`,
    )
    .join('');
  const threshold =
    opts.threshold !== undefined
      ? `<line x1="0" x2="${w}" y1="${y(opts.threshold).toFixed(1)}" y2="${y(opts.threshold).toFixed(1)}" stroke="#9aa3b2" stroke-dasharray="3 3" stroke-width="1"/>`
      : '';
  return `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${e(opts.label)}"><rect width="${w}" height="${h}" fill="#f4f6f9"/>${threshold}${polylines}</svg>`;
}

function card(
  title: string,
  level: Level,
  big: string,
  lines: string[],
  spark: string,
  id: string,
): string {
  return `<div class="card ${level}" id="${id}"><h3>${e(title)}</h3><div class="big ${level === 'muted' ? 'muted' : level}">${big}</div>${lines.map((l) => `<div class="line">${l}</div>`).join('')}${spark}</div>`;
}

function errorsLevel(w: TrafficWindow): Level {
  if (w.errorRatio === null) return 'muted';
  if (w.errorRatio > 1 - SLO) return w.errors >= 5 ? 'bad' : 'warn';
  return 'ok';
}

function latencyLevel(w: TrafficWindow): Level {
  if (w.p90 === null) return 'muted';
  if (w.p90 > LATENCY_TARGET_SECONDS) return 'bad';
  if (w.p90 > LATENCY_TARGET_SECONDS * 0.8) return 'warn';
  return 'ok';
}

function limitedLevel(w: TrafficWindow): Level {
  const n = w.rateLimitedNylas + w.rateLimitedProvider;
  if (w.requests === 0) return 'muted';
  if (n / w.requests > RATE_LIMITED_BAD) return 'bad';
  return n > 0 ? 'warn' : 'ok';
}

/** Levels of the four cards, for the verdict line. */
export function trafficLevels(t: TrafficView) {
  const w = t.last5m;
  return { errors: errorsLevel(w), latency: latencyLevel(w), limited: limitedLevel(w) };
}

const minutes = (s: number) => (s >= 290 ? '5 min' : `${Math.max(1, Math.round(s))} s`);

/** The four traffic cards. */
export function trafficCards(t: TrafficView): string {
  const w = t.last5m;
  const all = t.sinceStart;
  const h = t.history;
  const lv = trafficLevels(t);
  const win = `last ${minutes(w.seconds)}`;

  const rps = card(
    'Requests / s',
    w.requests > 0 ? 'ok' : 'muted',
    e(rate(w.rps)),
    [
      `${e(win)}: ${e(w.requests)} requests`,
      `since start: ${e(all.requests)} (${e(rate(all.rps))}/s)`,
    ],
    sparkline(h.rps, { label: 'requests per second, last 30 minutes' }),
    'card-rate',
  );

  const ok = w.errorRatio === null ? null : 1 - w.errorRatio;
  const errors = card(
    'Errors (5xx, no answer)',
    lv.errors,
    w.errorRatio === null ? '—' : e(percent(w.errorRatio)),
    [
      ok === null
        ? 'no requests'
        : `${e(w.errors)} failed; ${e(percent(ok))} OK vs the ${e(percent(SLO))} objective`,
      `since start: ${all.errorRatio === null ? '—' : e(percent(all.errorRatio))} (${e(all.errors)})`,
    ],
    sparkline(h.errorRatio, {
      threshold: 1 - SLO,
      floor: 0.01,
      level: lv.errors,
      label: 'error ratio, last 30 minutes, against the objective',
    }),
    'card-errors',
  );

  const n429 = w.rateLimitedNylas + w.rateLimitedProvider;
  const limited = card(
    '429 rate limited',
    lv.limited,
    e(n429),
    [
      `Nylas ${e(w.rateLimitedNylas)} · provider ${e(w.rateLimitedProvider)}${w.requests > 0 ? ` (${e(percent(n429 / w.requests))} of requests)` : ''}`,
      `since start: Nylas ${e(all.rateLimitedNylas)} · provider ${e(all.rateLimitedProvider)}`,
    ],
    sparkline(h.rateLimited, { level: lv.limited, label: '429s per second, last 30 minutes' }),
    'card-429',
  );

  const latency = card(
    'Latency p50 / p90',
    lv.latency,
    `${e(duration(w.p50))} / ${e(duration(w.p90))}`,
    [
      `p90 ${w.p90 === null ? '—' : w.p90 > LATENCY_TARGET_SECONDS ? 'above' : 'within'} Nylas's ${e(duration(LATENCY_TARGET_SECONDS))} target`,
      `since start: ${e(duration(all.p50))} / ${e(duration(all.p90))}`,
    ],
    sparkline(h.p90, {
      threshold: LATENCY_TARGET_SECONDS,
      level: lv.latency,
      label: 'p90 latency, last 30 minutes, against 0.5 s',
    }),
    'card-latency',
  );
  return `<section class="cards" id="traffic">${rps}${errors}${limited}${latency}</section>`;
}

/** The per-route table of the last 5 minutes, folded to the busiest routes. */
export function routesTable(t: TrafficView): string {
  const rows = t.routes;
  if (rows.length === 0) return `<p class="muted">No proxied requests in the last 5 minutes.</p>`;
  const row = (r: RouteTraffic) => {
    const ratio = r.requests > 0 ? r.errors / r.requests : 0;
    const errCls = r.errors === 0 ? '' : ratio > 1 - SLO ? 'bad' : 'warn';
    const latCls = r.p90 !== null && r.p90 > LATENCY_TARGET_SECONDS ? 'bad' : '';
    return `<tr><td><code>${e(r.route)}</code></td><td class="n">${e(rate(r.rps))}</td><td class="n ${errCls}">${e(r.errors)}${r.errors ? ` (${e(percent(ratio))})` : ''}</td><td class="n">${e(r.failed - r.errors)}</td><td class="n ${latCls}">${e(duration(r.p90))}</td></tr>`;
  };
  // The latency histogram has routes only with SIDECAR_LATENCY_BY_ROUTE: say so rather than show
  // a column of dashes with no reason.
  const p90 = rows.some((r) => r.p90 !== null)
    ? 'p90'
    : '<span title="by route only with SIDECAR_LATENCY_BY_ROUTE=true">p90 (not by route)</span>';
  const head = `<thead><tr><th>route</th><th>req/s</th><th>5xx / no answer</th><th>4xx</th><th>${p90}</th></tr></thead>`;
  const shown = rows.slice(0, ROUTES_SHOWN);
  const rest = rows.slice(ROUTES_SHOWN);
  const fold =
    rest.length > 0
      ? `<details><summary>${e(rows.length)} routes in the last 5 minutes, ${e(shown.length)} shown: show all</summary><table>${head}<tbody>${rest.map(row).join('')}</tbody></table></details>`
      : '';
  return `<table id="routes">${head}<tbody>${shown.map(row).join('')}</tbody></table>${fold}`;
}
