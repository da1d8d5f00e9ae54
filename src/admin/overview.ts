import type { StatusModel } from './status-model.js';

/** The overview reloads itself this often; pollers run every minute at most by default. */
export const OVERVIEW_REFRESH_SECONDS = 30;

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(v: string | number | null | undefined): string {
  return String(v ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const e = escapeHtml;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
.sub{color:#5b6475;margin:0 0 1rem}
table{border-collapse:collapse;margin:.3rem 0;background:#fff}
th,td{border:1px solid #d8dde6;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
.ok{color:#176c2b}.warn{color:#9a6400}.bad{color:#b3261e;font-weight:600}.muted{color:#6b7385}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:.6rem;background:#eef1f5}
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
  const components = table(
    ['component', 'status'],
    notOk.map((c) => [e(c.name), cls(statusClass(c.status), c.status)]),
    `All ${s.components.length} components operational.`,
  );
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
  const invalid = table(
    ['grant id', 'provider', 'last authenticated', 'learnt at', 'source', 'support ticket'],
    g.invalid.map((x) => [
      `<code>${e(x.grantId)}</code>`,
      e(x.provider),
      e(x.lastAuthenticatedAt ?? ''),
      e(x.learntAt),
      e(x.source),
      `<a href="support/${e(encodeURIComponent(x.grantId))}">ticket text</a>`,
    ]),
    'No invalid grants.',
  );
  const more =
    g.invalidTotal > g.invalid.length
      ? `<p class="warn">${e(g.invalidTotal - g.invalid.length)} more invalid grants are not listed (SIDECAR_MAX_GRANT_SERIES).</p>`
      : '';
  const auth = g.recentAuthFailures.length
    ? `<h3>Grants failing with 401 in recent traffic</h3>${table(
        ['grant id', '401s', 'last'],
        g.recentAuthFailures.map((a) => [
          `<a href="support/${e(encodeURIComponent(a.grantId))}"><code>${e(a.grantId)}</code></a>`,
          e(a.count),
          e(a.lastAt),
        ]),
        '',
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

function errorsSection(m: StatusModel): string {
  const rows = m.recentErrors.map((r) => [
    e(r.time),
    e(r.method),
    `<code>${e(r.route)}</code>`,
    cls(r.code >= 500 ? 'bad' : 'warn', r.code),
    e(r.errorType),
    `<code>${e(r.requestId ?? '')}</code>`,
    r.grantId ? `<code>${e(r.grantId)}</code>` : '',
  ]);
  return `<h2>Recent upstream errors</h2>${table(['time', 'method', 'route', 'code', 'error type', 'Nylas request id', 'grant'], rows, 'No upstream errors recorded.')}`;
}

function summaryLine(m: StatusModel): string {
  const parts: string[] = [];
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
  parts.push(
    m.recentErrors.length > 0
      ? cls('warn', `${m.recentErrors.length} recent upstream error(s)`)
      : cls('ok', 'no recent upstream errors'),
  );
  return `<p><strong>Now:</strong> ${parts.join(' · ')}</p>`;
}

/** Renders the overview page: self-contained (no external assets), every value escaped. */
export function renderOverview(m: StatusModel): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${OVERVIEW_REFRESH_SECONDS}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>nylas-sidecar overview</title><style>${STYLE}</style></head>
<body>
<h1>nylas-sidecar</h1>
<p class="sub">Generated ${e(m.generatedAt)}; refreshes every ${OVERVIEW_REFRESH_SECONDS} s. JSON: <a href="status">/status</a> · metrics: <a href="metrics">/metrics</a></p>
${summaryLine(m)}
${platformSection(m)}
${grantsSection(m)}
${accountsSection(m)}
${webhooksSection(m)}
${errorsSection(m)}
${pollersSection(m)}
</body></html>
`;
}
