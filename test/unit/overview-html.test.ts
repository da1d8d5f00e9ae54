import { describe, expect, it } from 'vitest';
import { escapeHtml, renderOverview } from '../../src/admin/overview.js';
import { buildStatusModel } from '../../src/admin/status-model.js';
import type { PollersSnapshot } from '../../src/pollers/index.js';

const NOW = Date.UTC(2026, 10, 24, 3, 0, 0);
const EVIL = '<script>alert(1)</script>"\'&';

function snapshot(): PollersSnapshot {
  return {
    pollers: [
      {
        name: 'status_page',
        enabled: true,
        disabledReason: undefined,
        schedule: '* * * * *',
        running: false,
        lastRunAt: NOW,
        lastSuccessAt: NOW - 10 * 60_000,
        lastResult: 'error',
        lastErrorCode: 'ERR_NYLAS_HTTP_STATUS',
        lastErrorStatus: 500,
        consecutiveFailures: 3,
        backoffUntil: undefined,
        intervalMs: 60_000,
        startOffsetMs: 0,
      },
    ],
    grants: {
      at: NOW,
      startedAt: NOW,
      censusAt: NOW,
      total: 3,
      counts: [{ status: 'invalid', provider: 'google', count: 1 }],
      invalid: [{ grantId: `g-${EVIL}`, provider: 'google', updatedAt: undefined }],
      invalidTotal: 1,
    },
    accounts: undefined,
    notifiedGrants: [],
    webhooks: {
      at: NOW,
      destinations: [
        {
          id: 'wh1',
          api: 'v3',
          description: EVIL,
          urlHost: 'hooks.example.com',
          status: 'failing',
          rawStatus: 'failing',
          statusUpdatedAt: undefined,
          // Failing for 30 hours: Nylas marks it failed 72 hours in, 42 hours from now.
          statusSince: NOW / 1000 - 30 * 3600,
          markedFailedAt: NOW / 1000 + 42 * 3600,
          triggerCount: 2,
        },
      ],
      channels: [
        {
          id: 'ch1',
          type: 'sns',
          description: 'Audit trail',
          status: 'active',
          rawStatus: 'active',
          statusUpdatedAt: undefined,
          statusSince: NOW / 1000 - 3600,
          markedFailedAt: undefined,
          triggerCount: 1,
        },
      ],
    },
    statusPage: {
      at: NOW,
      indicator: 'major',
      indicatorValue: 2,
      description: 'Partial System Outage',
      components: [{ name: 'API', group: '', status: 'partial_outage' }],
      componentsDropped: 0,
      incidents: [
        {
          id: 'inc1',
          name: `Outage ${EVIL}`,
          region: 'all',
          ours: true,
          impact: 'major',
          status: 'investigating',
          createdAt: undefined,
          shortlink: 'javascript:alert(1)',
        },
      ],
      maintenances: [],
      maintenanceActive: 0,
      pageUrl: 'https://status.nylas.com/',
      region: undefined,
    },
  };
}

describe('HTML overview', () => {
  it('escapes every upstream value', () => {
    expect(escapeHtml(EVIL)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
    const html = renderOverview(buildStatusModel(snapshot(), [], NOW));
    expect(html).not.toContain('<script');
    expect(html).not.toContain('javascript:');
    expect(html).toContain('&lt;script&gt;');
  });

  it('refreshes itself and loads nothing from elsewhere', () => {
    const html = renderOverview(buildStatusModel(snapshot(), [], NOW));
    expect(html).toMatch(/<meta http-equiv="refresh" content="\d+">/);
    expect(html).not.toMatch(/<(link|script|img|iframe)\b/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('shows invalid grants, the failing destination, the open incident and a stale poller', () => {
    const html = renderOverview(buildStatusModel(snapshot(), [], NOW));
    expect(html).toContain('Invalid grants');
    expect(html).toContain('g-&lt;script&gt;');
    expect(html).toContain('failing');
    expect(html).toContain('Outage &lt;script&gt;');
    expect(html).toContain('stale');
    expect(html).toMatch(
      /<strong>Now:<\/strong>.*1 open Nylas incident.*1 invalid grant.*1 webhook destination\(s\) failing or failed/,
    );
  });
});

describe('/status model', () => {
  it('stops listing a grant as failing with 401 once a later grants poll finds it valid', () => {
    const snap = snapshot();
    const e401 = (grantId: string, secondsAgo: number) => ({
      time: NOW - secondsAgo * 1000,
      method: 'GET',
      route: '/v3/grants/{grant_id}/messages',
      code: 401,
      errorType: 'unauthorized',
      requestId: undefined,
      grantId,
      blame: 'grant' as const,
    });
    // Newest first, as the ring lists them. The poll ran at NOW: g-old was not invalid then.
    const errors = [e401('g-new', 0), e401('g-old', 30), e401('g-old', 40), e401('g-old', 50)];
    snap.grants = { ...snap.grants!, at: NOW - 1 };
    const failing = buildStatusModel(snap, errors, NOW).grants!.recentAuthFailures;
    expect(failing.map((f) => f.grantId)).toEqual(['g-new']);
    // Before that poll, g-old was still failing.
    snap.grants = { ...snap.grants, at: NOW - 60_000 };
    const earlier = buildStatusModel(snap, errors, NOW).grants!.recentAuthFailures;
    expect(earlier.map((f) => [f.grantId, f.count])).toEqual([
      ['g-new', 1],
      ['g-old', 3],
    ]);
  });

  it('marks a poller stale after three intervals without success, and not before', () => {
    const snap = snapshot();
    expect(buildStatusModel(snap, [], NOW).pollers[0]!.stale).toBe(true);
    snap.pollers[0]!.lastSuccessAt = NOW - 2 * 60_000;
    expect(buildStatusModel(snap, [], NOW).pollers[0]!.stale).toBe(false);
  });

  it('lists recent upstream errors with time, route, code, error type and request id', () => {
    const m = buildStatusModel(
      snapshot(),
      [
        {
          time: NOW,
          method: 'GET',
          route: '/v3/grants/{grant_id}/messages',
          code: 401,
          errorType: 'api.authentication_error',
          requestId: 'rid-1',
          grantId: 'g1',
          blame: 'grant',
        },
      ],
      NOW,
    );
    expect(m.recentErrors[0]).toEqual({
      time: new Date(NOW).toISOString(),
      method: 'GET',
      route: '/v3/grants/{grant_id}/messages',
      code: 401,
      errorType: 'api.authentication_error',
      requestId: 'rid-1',
      grantId: 'g1',
    });
    expect(m.grants!.recentAuthFailures).toEqual([
      { grantId: 'g1', count: 1, lastAt: new Date(NOW).toISOString() },
    ]);
  });
});

describe('where each destination is heading', () => {
  it('says on / since when a destination has been failing and when Nylas will mark it failed', () => {
    const html = renderOverview(buildStatusModel(snapshot(), [], NOW));
    const since = new Date(NOW - 30 * 3600_000).toISOString();
    const failedAt = new Date(NOW + 42 * 3600_000).toISOString();
    expect(html).toContain(
      `has been failing since ${since}: Nylas will mark it failed at ${failedAt} (in 42.0 h)`,
    );
    expect(html).toContain('Notification channels');
    expect(html).toContain('Audit trail');
  });

  it('has no such line for a destination failing for less than 24 hours', () => {
    const snap = snapshot();
    const d = snap.webhooks!.destinations[0]!;
    d.statusSince = NOW / 1000 - 2 * 3600;
    d.markedFailedAt = d.statusSince + 72 * 3600;
    const html = renderOverview(buildStatusModel(snap, [], NOW));
    expect(html).not.toContain('has been failing since');
    // The table still says where it is heading.
    expect(html).toContain('unless deliveries recover');
  });
});
