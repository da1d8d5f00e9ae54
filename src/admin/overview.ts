import { escapeHtml } from './html.js';
import { routesTable, trafficCards, trafficLevels } from './overview-traffic.js';
import type { StatusModel } from './status-model.js';

/** The overview reloads itself this often (the traffic is sampled every 10 s). */
export const OVERVIEW_REFRESH_SECONDS = 15;

export { escapeHtml };

const e = escapeHtml;

const STYLE = `
body{font:14px/1.35 system-ui,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{padding:.6rem 1.2rem 2rem}
h1{font-size:1.05rem;margin:0;display:inline}h2{font-size:1.05rem;margin:1.1rem 0 .35rem}h3{font-size:.95rem;margin:.8rem 0 .3rem}
.strip{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:baseline;padding:.45rem 1.2rem;background:#1d2330;color:#e8ebf1;font-size:13px}
.strip a{color:#9fc3ff}.strip .mode{font-weight:700;padding:0 .45rem;border-radius:.5rem}
.strip .demo{background:#ffd666;color:#1d2330}.strip .live{background:#2e9e4f;color:#fff}
.strip .bad{color:#ff8a80}.strip .ok{color:#8be09f}.strip .warn{color:#ffd666}.strip .muted{color:#aab2c0}
.sub{color:#5b6475;margin:.2rem 0 .5rem;font-size:12px}
.verdict{font-size:15px;margin:.55rem 0}
.cards{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:.6rem;margin:.4rem 0}
.card{background:#fff;border:1px solid #d8dde6;border-radius:.4rem;padding:.45rem .6rem}
.card h3{margin:0;font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#5b6475}
.card .big{font-size:1.55rem;font-weight:650;margin:.1rem 0}
.card .line{font-size:12px;color:#5b6475}
.card.bad{border-color:#b3261e;box-shadow:inset 4px 0 #b3261e}.card.warn{border-color:#c98a00;box-shadow:inset 4px 0 #c98a00}.card.ok{box-shadow:inset 4px 0 #2e9e4f}
.cols{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem}
.signals{list-style:none;padding:0;margin:.3rem 0}.signals li{margin:.2rem 0}
table{border-collapse:collapse;margin:.3rem 0;background:#fff;font-size:13px}
th,td{border:1px solid #d8dde6;padding:.18rem .45rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#eef1f5;font-weight:600}
.ok{color:#176c2b}.warn{color:#9a6400}.bad{color:#b3261e;font-weight:600}.muted{color:#6b7385}
.fold{color:#5b6475;font-size:12px;margin:.2rem 0}
details summary{cursor:pointer;color:#3a5ccc;font-size:12px}
svg.spark{display:block;margin-top:.2rem}
code{font:12px ui-monospace,monospace}
`;

function cls(kind: 'ok' | 'warn' | 'bad' | 'muted', text: string | number): string {
  return `<span class="${kind}">${e(text)}</span>`;
}

function table(headers: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="muted">${e(empty)}</p>`;
  const head = headers.map((h) => `<th>${e(h)}</th>`).join('');
  // Cells are pre-escaped by the callers (some hold markup of their own).
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Rows of a long table shown before the rest is folded away (with its count). */
const ROWS_SHOWN = 10;

/** A table showing its first rows, the count, and the rest behind a <details>. */
function folded(headers: string[], rows: string[][], empty: string, what: string): string {
  if (rows.length <= ROWS_SHOWN) return table(headers, rows, empty);
  return `${table(headers, rows.slice(0, ROWS_SHOWN), empty)}<details><summary>${e(rows.length)} ${e(what)}, ${ROWS_SHOWN} shown: show all</summary>${table(headers, rows.slice(ROWS_SHOWN), '')}</details>`;
}

function statusClass(s: string): 'ok' | 'warn' | 'bad' | 'muted' {
  if (['active', 'operational', 'valid', 'running', 'none', 'success'].includes(s)) return 'ok';
  if (['failed', 'major_outage', 'invalid', 'critical', 'major', 'error', 'stopped'].includes(s))
    return 'bad';
  if (s === 'unknown' || s === '') return 'muted';
  return 'warn';
}

function pollersSection(m: StatusModel): string {
  const rows = m.pollers.map((p) => [
    `<code>${e(p.name)}</code>`,
    p.enabled ? e(p.schedule) : cls('muted', `off: ${p.disabledReason ?? 'disabled'}`),
    p.lastSuccessAt ? e(p.lastSuccessAt) : cls('muted', 'never'),
    p.lastResult ? cls(statusClass(p.lastResult), p.lastResult) : cls('muted', '—'),
    p.lastErrorCode
      ? e(`${p.lastErrorCode}${p.lastErrorStatus ? ` (HTTP ${p.lastErrorStatus})` : ''}`)
      : '',
    p.stale ? cls('bad', 'stale') : p.enabled ? cls('ok', 'fresh') : '',
  ]);
  return `<h2>Pollers</h2>${table(['poller', 'schedule', 'last success', 'last run', 'last error', 'freshness'], rows, 'No pollers.')}`;
}

function platformSection(m: StatusModel): string {
  const s = m.statusPage;
  if (!s) return `<h2>Nylas platform status</h2><p class="muted">Not polled yet.</p>`;
  const incidents = table(
    ['incident', 'impact', 'status', 'since', 'region', 'id'],
    s.incidents.map((i) => [
      i.shortlink && /^https?:\/\//.test(i.shortlink)
        ? `<a href="${e(i.shortlink)}" rel="noreferrer">${e(i.name || i.id)}</a>`
        : e(i.name || i.id),
      cls(statusClass(i.impact), i.impact),
      e(i.status),
      e(i.createdAt ?? ''),
      i.ours ? e(i.region) : `<span class="muted">${e(i.region)} (not our region)</span>`,
      `<code>${e(i.id)}</code>`,
    ]),
    'No open incidents.',
  );
  const notOk = s.components.filter((c) => c.status !== 'operational');
  const components =
    table(
      ['component', 'group', 'status'],
      notOk.map((c) => [e(c.name), e(c.group), cls(statusClass(c.status), c.status)]),
      `All ${s.components.length} components operational.`,
    ) +
    (s.componentsDropped > 0
      ? `<p class="warn">${s.componentsDropped} more components on the page are not shown or exported (the least bad past the cap).</p>`
      : '');
  const maint = s.maintenances.length
    ? `<p class="warn">Maintenance in progress: ${s.maintenances.map((x) => e(x.name)).join(', ')}</p>`
    : '';
  return `<h2>Nylas platform status</h2>
<p>Indicator: ${cls(statusClass(s.indicator), s.indicator)} — ${e(s.description)} <span class="muted">(as of ${e(s.updatedAt)}, read from ${e(s.pageUrl)}${s.region ? `; our region: ${e(s.region)}` : ''})</span></p>
<h3>Open incidents</h3>${incidents}${maint}<h3>Components not operational</h3>${components}`;
}

/** Grant health learnt from grant.* notifications, before any poll could tell. */
function notifiedSection(m: StatusModel): string {
  if (m.notifiedGrants.length === 0) return '';
  return `<h3>Grant health from notifications (until the next poll confirms it)</h3>${table(
    ['grant id', 'provider', 'state', 'notification', 'learnt at', 'source', 'support ticket'],
    m.notifiedGrants.map((n) => [
      `<code>${e(n.grantId)}</code>`,
      e(n.provider),
      cls(statusClass(n.state), n.state),
      e(n.trigger),
      e(n.learntAt),
      e(n.source),
      `<a href="support/${e(encodeURIComponent(n.grantId))}">ticket text</a>`,
    ]),
    '',
  )}`;
}

function grantsSection(m: StatusModel): string {
  const g = m.grants;
  if (!g) return `<h2>Grants</h2><p class="muted">Not polled yet.</p>${notifiedSection(m)}`;
  const counts = table(
    ['provider', 'status', 'grants'],
    g.counts
      .filter((c) => c.count > 0)
      .map((c) => [e(c.provider), cls(statusClass(c.status), c.status), e(c.count)]),
    'No grants.',
  );
  const invalidHeaders = [
    'grant id',
    'provider',
    'last authenticated',
    'learnt at',
    'source',
    'support ticket',
  ];
  const invalidRows = g.invalid.map((x) => [
    `<code>${e(x.grantId)}</code>`,
    e(x.provider),
    e(x.lastAuthenticatedAt ?? ''),
    e(x.learntAt),
    e(x.source),
    `<a href="support/${e(encodeURIComponent(x.grantId))}">ticket text</a>`,
  ]);
  const invalid = folded(invalidHeaders, invalidRows, 'No invalid grants.', 'invalid grants');
  const more =
    g.invalidTotal > g.invalid.length
      ? `<p class="warn">${e(g.invalidTotal - g.invalid.length)} more invalid grants are not listed (SIDECAR_MAX_GRANT_SERIES).</p>`
      : '';
  const auth = g.recentAuthFailures.length
    ? `<h3>Grants failing with 401 in recent traffic</h3>${folded(
        ['grant id', '401s', 'last'],
        g.recentAuthFailures.map((a) => [
          `<a href="support/${e(encodeURIComponent(a.grantId))}"><code>${e(a.grantId)}</code></a>`,
          e(a.count),
          e(a.lastAt),
        ]),
        '',
        'grants failing with 401',
      )}`
    : '';
  return `<h2>Grants</h2>
<p>${g.total === null ? 'Census not finished yet' : `${e(g.total)} grants (census of ${e(g.censusAt ?? '')})`}, ${g.invalidTotal > 0 ? cls('bad', `${g.invalidTotal} invalid`) : cls('ok', '0 invalid')} <span class="muted">(as of ${e(g.updatedAt)})</span></p>
${counts}<h3>Invalid grants (users must re-authenticate)</h3>${invalid}${more}${notifiedSection(m)}${auth}`;
}

function accountsSection(m: StatusModel): string {
  const a = m.accounts;
  if (!a) return '';
  const rows = a.unhealthy.map((x) => [
    `<code>${e(x.accountId)}</code>`,
    cls(statusClass(x.syncState), x.syncState),
    e(x.provider),
  ]);
  const restarts = a.recentRestarts.length
    ? `<h3>Sync restarts</h3>${table(
        ['account', 'at', 'result'],
        a.recentRestarts.map((r) => [
          `<code>${e(r.accountId)}</code>`,
          e(r.at),
          cls(statusClass(r.result), r.result),
        ]),
        '',
      )}`
    : '';
  return `<h2>v2 accounts</h2>
<p>${e(a.total)} accounts, ${e(a.unhealthyTotal)} not running; automatic restart ${a.restartsEnabled ? 'on' : 'off'} <span class="muted">(as of ${e(a.updatedAt)})</span></p>
${table(['account', 'sync state', 'provider'], rows, 'Every account is running.')}${restarts}`;
}

/** Where a destination or channel is heading, in words. */
function heading(d: { status: string; markedFailedAt: string | null }): string {
  if (d.status === 'failing' && d.markedFailedAt)
    return cls('bad', `marked failed at ${d.markedFailedAt} unless deliveries recover`);
  if (d.status === 'failed') return cls('bad', 'Nylas stopped sending; reactivate it');
  return '';
}

/**
 * A destination or channel failing this long gets a line of its own: a third of the 72 hours
 * before Nylas marks it failed (the default of the NylasWebhookFailingTowardsFailed alert).
 */
const FAILING_WARN_MS = 24 * 3600_000;

/** The "failing long enough" lines: what, since when, and when Nylas will mark it failed. */
function failingLines(m: StatusModel): string {
  const w = m.webhooks;
  if (!w) return '';
  const now = Date.parse(m.generatedAt);
  const long = [
    ...w.destinations.map((d) => ({ what: 'Webhook destination', ...d })),
    ...w.channels.map((c) => ({ what: `${c.type === 'sns' ? 'SNS' : 'Pub/Sub'} channel`, ...c })),
  ].filter(
    (d) =>
      d.status === 'failing' &&
      d.markedFailedAt &&
      now - Date.parse(d.statusSince) >= FAILING_WARN_MS,
  );
  return long
    .map((d) => {
      const hours = Math.max(0, (Date.parse(d.markedFailedAt!) - now) / 3600_000);
      return `<p class="bad">${e(d.what)} <code>${e(d.id)}</code>${d.description ? ` (${e(d.description)})` : ''} has been failing since ${e(d.statusSince)}: Nylas will mark it failed at ${e(d.markedFailedAt)} (in ${e(hours.toFixed(1))} h) and stop sending, without replaying what it missed.</p>`;
    })
    .join('');
}

function webhooksSection(m: StatusModel): string {
  const w = m.webhooks;
  if (!w) return `<h2>Webhook destinations</h2><p class="muted">Not polled yet.</p>`;
  const rows = w.destinations.map((d) => [
    `<code>${e(d.id)}</code>`,
    e(d.api),
    e(d.description),
    e(d.urlHost),
    cls(statusClass(d.status), d.status),
    e(d.statusSince),
    heading(d),
  ]);
  const channels = w.channels.length
    ? `<h2>Notification channels</h2>${table(
        ['id', 'type', 'description', 'status', 'status since', 'heading to'],
        w.channels.map((c) => [
          `<code>${e(c.id)}</code>`,
          e(c.type),
          e(c.description),
          cls(statusClass(c.status), c.status),
          e(c.statusSince),
          heading(c),
        ]),
        '',
      )}`
    : '';
  return `<h2>Webhook destinations</h2>${failingLines(m)}${table(['id', 'api', 'description', 'host', 'status', 'status since', 'heading to'], rows, 'No webhook destinations.')}${channels}`;
}

/** Error rows shown before folding: the first screen belongs to the traffic. */
const ERRORS_SHOWN = 5;
const WINDOW_MS = 5 * 60_000;

function errorsSection(m: StatusModel): string {
  const now = Date.parse(m.generatedAt);
  const recent = m.recentErrors.filter((r) => now - Date.parse(r.time) <= WINDOW_MS);
  const counted = m.traffic?.last5m.failed;
  const total = counted ?? recent.length;
  const row = (r: StatusModel['recentErrors'][number]) => [
    e(r.time.slice(11, 19)),
    e(r.method),
    `<code>${e(r.route)}</code>`,
    cls(r.code >= 500 ? 'bad' : 'warn', r.code),
    e(r.errorType),
    `<code>${e(r.requestId ?? '')}</code>`,
    r.grantId ? `<code>${e(r.grantId)}</code>` : '',
  ];
  const headers = [
    'time (UTC)',
    'method',
    'route',
    'code',
    'error type',
    'Nylas request id',
    'grant',
  ];
  const shown = recent.slice(0, ERRORS_SHOWN);
  const count =
    total === 0
      ? ''
      : `<p class="fold" id="errors-count">${e(total)} failed request${total === 1 ? '' : 's'} in the last 5 minutes, ${e(shown.length)} shown${total > recent.length ? ` (the newest ${e(recent.length)} are kept; all in <a href="metrics">/metrics</a>)` : ''}.</p>`;
  const more =
    recent.length > shown.length
      ? `<details><summary>show ${e(recent.length - shown.length)} more</summary>${table(headers, recent.slice(ERRORS_SHOWN).map(row), '')}</details>`
      : '';
  return `<h2>Upstream errors</h2>${count}${table(headers, shown.map(row), 'No upstream errors in the last 5 minutes.')}${more}`;
}

/** A rejected API key explains every 401 at once: said first, apart from the grants. */
function keySection(m: StatusModel): string {
  if (m.apiKeyProblems.length === 0) return '';
  const lines = m.apiKeyProblems.map((k) => {
    const where = [
      k.grants > 0 ? `${k.grants} grant${k.grants > 1 ? 's' : ''}` : '',
      k.nonGrantRoutes.length > 0 ? `routes naming no grant (${k.nonGrantRoutes.join(', ')})` : '',
      k.source === 'pollers' ? "the sidecar's own polls (NYLAS_API_KEY)" : '',
    ].filter(Boolean);
    return `<p class="bad">API key rejected: ${e(k.failures)} call(s) answered 401 since ${e(k.since)} across ${e(where.join(', ') || 'every call')}. The key is wrong, revoked or rotated; the grants are not to blame. <span class="muted">(key fingerprint <code>${e(k.fingerprint)}</code>, a keyed hash)</span></p>`;
  });
  return lines.join('\n');
}

function ago(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

/** The top strip: which instance, demo or live, scenario, upstream, version, uptime, pollers. */
function strip(m: StatusModel): string {
  const i = m.instance;
  const parts: string[] = ['<h1>nylas-sidecar</h1>'];
  if (i) {
    parts.push(
      i.mode === 'demo'
        ? `<span class="mode demo" id="mode">DEMO</span>`
        : `<span class="mode live" id="mode">LIVE</span>`,
    );
    if (i.scenario !== null)
      parts.push(`<span id="scenario">scenario <strong>${e(i.scenario)}</strong></span>`);
    parts.push(`<span>role ${e(i.role)}</span>`);
    parts.push(`<span>upstream <code>${e(i.upstream)}</code></span>`);
    parts.push(`<span>v${e(i.version)}</span>`);
    parts.push(`<span>up ${e(ago(i.uptimeSeconds))}</span>`);
  }
  const enabled = m.pollers.filter((p) => p.enabled);
  if (enabled.length > 0)
    parts.push(
      `<span id="freshness">pollers: ${enabled
        .map((p) =>
          p.stale
            ? `<span class="bad">${e(p.name)} stale</span>`
            : p.ageSeconds === null
              ? `<span class="muted">${e(p.name)} not yet</span>`
              : `<span class="${p.lastResult === 'error' ? 'warn' : 'ok'}">${e(p.name)} ${e(ago(p.ageSeconds))} ago</span>`,
        )
        .join(' · ')}</span>`,
    );
  else if (i) parts.push(`<span class="muted" id="freshness">no pollers on this instance</span>`);
  parts.push(`<span><a href="status">/status</a> · <a href="metrics">/metrics</a></span>`);
  return `<header class="strip">${parts.join('')}</header>`;
}

/** One line per thing the pollers watch, beside the route table: what is wrong is red. */
function signals(m: StatusModel): string {
  const items: string[] = [];
  const polledHere = m.pollers.some((p) => p.enabled);
  const notHere = `<span class="muted">polled by the SIDECAR_ROLE=pollers instance</span>`;
  const sp = m.statusPage;
  items.push(
    `<li id="sig-platform">Nylas status page: ${
      sp
        ? sp.incidents.length > 0
          ? cls(
              // A critical incident can be open while the indicator still reads none.
              sp.incidents.some((x) => x.ours && (x.impact === 'major' || x.impact === 'critical'))
                ? 'bad'
                : statusClass(sp.indicator) === 'ok'
                  ? 'warn'
                  : statusClass(sp.indicator),
              `${sp.indicator === 'none' ? 'incident' : sp.indicator}: ${sp.incidents.map((x) => `${x.name || x.id} (${x.impact})`).join('; ')}`,
            )
          : sp.indicator === 'none'
            ? cls('ok', 'all systems operational')
            : cls(statusClass(sp.indicator), `${sp.indicator}: ${sp.description}`)
        : polledHere
          ? cls('muted', 'not polled yet')
          : notHere
    }</li>`,
  );
  const g = m.grants;
  const failing401 = g?.recentAuthFailures.length ?? 0;
  items.push(
    `<li id="sig-grants">Grants: ${
      g
        ? `${g.invalidTotal > 0 ? cls('bad', `${g.invalidTotal} invalid`) : cls('ok', '0 invalid')}${g.total == null ? ' (census of all grants pending)' : ` of ${e(g.total)}`}${failing401 > 0 ? `; ${cls('bad', `${failing401} failing with 401 in traffic`)}` : ''}`
        : polledHere
          ? cls('muted', 'not polled yet')
          : notHere
    }</li>`,
  );
  items.push(
    `<li id="sig-key">API key: ${
      m.apiKeyProblems.length > 0
        ? cls(
            'bad',
            `rejected (401 on ${m.apiKeyProblems.reduce((a, k) => a + k.failures, 0)} calls)`,
          )
        : cls('ok', 'no key problem seen')
    }</li>`,
  );
  const w = m.webhooks;
  if (w || polledHere) {
    const bad =
      w?.destinations.filter((d) => d.status === 'failing' || d.status === 'failed') ?? [];
    items.push(
      `<li id="sig-webhooks">Webhook destinations: ${
        !w
          ? cls('muted', 'not polled yet')
          : bad.length > 0
            ? cls('bad', `${bad.length} of ${w.destinations.length} failing or failed`)
            : cls('ok', `${w.destinations.length} active`)
      }</li>`,
    );
  }
  const a = m.accounts;
  if (a)
    items.push(
      `<li id="sig-accounts">v2 accounts: ${
        a.unhealthyTotal > 0
          ? cls('bad', `${a.unhealthyTotal} of ${a.total} not running`)
          : cls('ok', `${a.total} running`)
      }${
        a.recentRestarts.length > 0
          ? `; ${cls('warn', `${a.recentRestarts.length} stopped account(s) restarted by the sidecar since ${a.recentRestarts[a.recentRestarts.length - 1]!.at.slice(11, 16)} UTC`)}`
          : a.restartsEnabled
            ? '; automatic restart on'
            : ''
      }</li>`,
    );
  return `<ul class="signals">${items.join('')}</ul>`;
}

function summaryLine(m: StatusModel): string {
  const parts: string[] = [];
  const t = m.traffic;
  if (t && t.last5m.requests > 0) {
    const lv = trafficLevels(t);
    const w = t.last5m;
    if (lv.errors !== 'ok')
      parts.push(cls(lv.errors, `${w.errors} failed requests (5xx or no answer) in 5 min`));
    if (lv.latency === 'bad') parts.push(cls('bad', 'p90 latency above 0.5 s'));
    if (lv.limited !== 'ok')
      parts.push(
        cls(
          lv.limited,
          `${w.rateLimitedNylas + w.rateLimitedProvider} requests rate limited (429)`,
        ),
      );
    if (lv.errors === 'ok' && lv.latency !== 'bad' && lv.limited === 'ok')
      parts.push(cls('ok', 'traffic healthy'));
  }
  if (m.apiKeyProblems.length > 0) parts.push(cls('bad', 'the API key is rejected'));
  const sp = m.statusPage;
  if (sp) {
    const open = sp.incidents.length;
    parts.push(
      open > 0
        ? cls(statusClass(sp.indicator), `${open} open Nylas incident${open > 1 ? 's' : ''}`)
        : cls('ok', 'no open Nylas incident'),
    );
  }
  if (m.grants)
    parts.push(
      m.grants.invalidTotal > 0
        ? cls(
            'bad',
            `${m.grants.invalidTotal} invalid grant${m.grants.invalidTotal > 1 ? 's' : ''}`,
          )
        : cls('ok', 'no invalid grant'),
    );
  if (m.accounts && m.accounts.unhealthyTotal > 0)
    parts.push(cls('warn', `${m.accounts.unhealthyTotal} v2 account(s) not running`));
  else if (m.accounts && m.accounts.recentRestarts.length > 0)
    parts.push(cls('warn', `${m.accounts.recentRestarts.length} stopped v2 account(s) restarted`));
  if (m.webhooks) {
    const bad = m.webhooks.destinations.filter(
      (d) => d.status === 'failing' || d.status === 'failed',
    );
    const badChannels = m.webhooks.channels.filter(
      (c) => c.status === 'failing' || c.status === 'failed',
    );
    if (badChannels.length > 0)
      parts.push(cls('bad', `${badChannels.length} notification channel(s) failing or failed`));
    parts.push(
      bad.length > 0
        ? cls('bad', `${bad.length} webhook destination(s) failing or failed`)
        : cls('ok', 'webhook destinations healthy'),
    );
  }
  const stale = m.pollers.filter((p) => p.stale);
  if (stale.length > 0)
    parts.push(cls('bad', `stale poller(s): ${stale.map((p) => p.name).join(', ')}`));
  return `<p class="verdict" id="verdict"><strong>Now:</strong> ${parts.join(' · ')}</p>`;
}

/** The traffic part: cards, then routes beside the signals; a note where this instance has no proxy. */
function trafficSection(m: StatusModel): string {
  if (m.traffic === null)
    return `<p class="muted" id="traffic">This instance runs no proxy (SIDECAR_ROLE=pollers): the traffic is on the proxy instances' overview pages and in Prometheus.</p><h2>What the pollers see</h2>${signals(m)}`;
  if (m.traffic === undefined) return `<h2>What the pollers see</h2>${signals(m)}`;
  return `${trafficCards(m.traffic)}<div class="cols"><div><h2>Routes, last 5 minutes</h2>${routesTable(m.traffic)}</div><div><h2>What the pollers see</h2>${signals(m)}</div></div>`;
}

/** Renders the overview page: self-contained (no external assets), every value escaped. */
export function renderOverview(m: StatusModel): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${OVERVIEW_REFRESH_SECONDS}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>nylas-sidecar overview</title><style>${STYLE}</style></head>
<body>
${strip(m)}
<main>
${summaryLine(m)}
${keySection(m)}
${trafficSection(m)}
${errorsSection(m)}
${platformSection(m)}
${grantsSection(m)}
${accountsSection(m)}
${webhooksSection(m)}
${pollersSection(m)}
<p class="sub">Generated ${e(m.generatedAt)}; refreshes every ${OVERVIEW_REFRESH_SECONDS} s.</p>
</main>
</body></html>
`;
}
