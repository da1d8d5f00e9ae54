import { describe, expect, it } from 'vitest';
import {
  renderSupportTicket,
  suggestTier,
  type TicketInput,
} from '../../src/admin/support-ticket.js';
import type { UpstreamErrorRecord } from '../../src/credentials/index.js';

const NOW = Date.UTC(2026, 10, 24, 3, 0, 0);
const GRANT = 'b0a4c6f2-1111-4a1e-9d7e-000000000001';

function err(grantId: string | undefined, code = 401, minutesAgo = 1): UpstreamErrorRecord {
  return {
    time: NOW - minutesAgo * 60_000,
    method: 'GET',
    route: '/v3/grants/{grant_id}/messages',
    code,
    errorType: code === 401 ? 'api.authentication_error' : 'api.internal_error',
    requestId: `req-${grantId ?? 'none'}-${minutesAgo}`,
    grantId,
    // The proxy settles every 401 as the grant's or the key's (credentials/key-health.ts).
    ...(code === 401 ? { blame: 'grant' as const } : {}),
  };
}

function input(over: Partial<TicketInput> = {}): TicketInput {
  return {
    grantId: GRANT,
    grant: { id: GRANT, provider: 'google', grant_status: 'valid', updated_at: 1_760_000_000 },
    grantSource: 'api',
    grantCheckedAt: NOW,
    errors: [],
    grants: {
      at: NOW,
      startedAt: NOW,
      censusAt: NOW,
      total: 100,
      counts: [],
      invalid: [],
      invalidTotal: 0,
    },
    statusPage: {
      at: NOW,
      indicator: 'none',
      indicatorValue: 0,
      description: 'All Systems Operational',
      components: [],
      componentsDropped: 0,
      incidents: [],
      maintenances: [],
      maintenanceActive: 0,
      pageUrl: 'https://status.nylas.com/',
      region: 'us',
    },
    apiHost: 'api.us.nylas.com',
    now: NOW,
    ...over,
  };
}

describe('suggested support tier', () => {
  it('is 4 when nothing is wrong with the grant', () => {
    expect(suggestTier(input()).tier).toBe(4);
  });

  it('is 1 under a critical incident of our region even while the indicator reads none', () => {
    const incident = {
      id: 'k3vq7wz9x1ab',
      name: 'Elevated error rates on the API',
      region: 'all' as const,
      ours: true,
      impact: 'critical',
      status: 'monitoring',
      createdAt: undefined,
      shortlink: undefined,
    };
    const page = input().statusPage!;
    expect(suggestTier(input({ statusPage: { ...page, incidents: [incident] } }))).toMatchObject({
      tier: 1,
      reason: expect.stringContaining('critical incident') as string,
    });
    // Another region's, or a minor one, does not.
    for (const other of [
      { ...incident, ours: false, region: 'eu' as const },
      { ...incident, impact: 'minor' },
    ])
      expect(suggestTier(input({ statusPage: { ...page, incidents: [other] } })).tier).toBe(4);
  });

  it('is 3 when only this grant is invalid or failing', () => {
    expect(
      suggestTier(
        input({
          grant: { id: GRANT, provider: 'google', grant_status: 'invalid', updated_at: undefined },
        }),
      ).tier,
    ).toBe(3);
    expect(suggestTier(input({ errors: [err(GRANT)] })).tier).toBe(3);
  });

  it('is 4 when ten grants only saw 404s and other 4xx the app caused', () => {
    const ordinary = Array.from({ length: 10 }, (_, i) => [
      { ...err(`g-${i}`, 404), errorType: 'not_found_error' },
      { ...err(`g-${i}`, 400), errorType: 'invalid_request_error' },
      { ...err(`g-${i}`, 429), errorType: 'rate_limit_error' },
    ]).flat();
    ordinary.push({ ...err(GRANT, 404), errorType: 'not_found_error' });
    expect(suggestTier(input({ errors: ordinary }))).toMatchObject({ tier: 4 });
  });

  it('does not count 401s blamed on the API key', () => {
    const keyBlamed = Array.from({ length: 12 }, (_, i) => ({
      ...err(`g-${i}`, 401),
      blame: 'key' as const,
    }));
    keyBlamed.push({ ...err(GRANT, 401), blame: 'key' });
    expect(suggestTier(input({ errors: keyBlamed })).tier).toBe(4);
  });

  it('counts 403s and provider errors as the grant’s failures', () => {
    expect(suggestTier(input({ errors: [err(GRANT, 403)] })).tier).toBe(3);
    const provider = { ...err('other', 400), errorType: 'provider_error', providerError: true };
    expect(suggestTier(input({ errors: [err(GRANT, 403), provider] })).tier).toBe(2);
  });

  it('is 2 when more than one grant is affected', () => {
    expect(suggestTier(input({ errors: [err(GRANT), err('other-grant')] })).tier).toBe(2);
    expect(
      suggestTier(
        input({
          grants: {
            at: NOW,
            startedAt: NOW,
            censusAt: NOW,
            total: 100,
            counts: [],
            invalid: [],
            invalidTotal: 3,
          },
        }),
      ).tier,
    ).toBe(2);
  });

  it('is 1 on a major platform incident, an invalid-grant surge, or many failing grants', () => {
    const sp = input().statusPage!;
    expect(
      suggestTier(
        input({
          statusPage: {
            ...sp,
            indicator: 'major',
            indicatorValue: 2,
            description: 'Partial System Outage',
          },
        }),
      ).tier,
    ).toBe(1);
    expect(
      suggestTier(
        input({
          grants: {
            at: NOW,
            startedAt: NOW,
            censusAt: NOW,
            total: 40,
            counts: [],
            invalid: [],
            invalidTotal: 20,
          },
        }),
      ).tier,
    ).toBe(1);
    const many = Array.from({ length: 12 }, (_, i) => err(`g-${i}`, 500));
    expect(suggestTier(input({ errors: many })).tier).toBe(1);
  });
});

describe('support ticket text', () => {
  it('names the grant, provider, status, request ids with timestamps and the tier', () => {
    const text = renderSupportTicket(
      input({
        grant: {
          id: GRANT,
          provider: 'microsoft',
          grant_status: 'invalid',
          updated_at: 1_760_000_000,
        },
        errors: [err(GRANT, 401, 1), err(GRANT, 401, 5), err('someone-else', 500, 2)],
      }),
    );
    expect(text).toContain(`Grant ID: ${GRANT}`);
    expect(text).toContain('Provider: microsoft');
    expect(text).toContain('Grant status: invalid');
    expect(text).toContain(`request_id=req-${GRANT}-1`);
    expect(text).toContain(`request_id=req-${GRANT}-5`);
    expect(text).toContain(new Date(NOW - 60_000).toISOString());
    expect(text).toContain('401 api.authentication_error x2');
    expect(text).not.toContain('req-someone-else');
    expect(text).toMatch(
      /Suggested priority: Tier 2 \(production degraded for more than one user\)/,
    );
    expect(text).toContain('re-authenticate');
    expect(text).toContain('Troubleshooting done');
    expect(text).toContain('api.us.nylas.com');
  });

  it('lists open incidents from the status page in the troubleshooting section', () => {
    const sp = input().statusPage!;
    const text = renderSupportTicket(
      input({
        statusPage: {
          ...sp,
          indicator: 'minor',
          indicatorValue: 1,
          description: 'Minor Service Outage',
          incidents: [
            {
              id: 'inc1',
              name: 'Delayed Gmail sync',
              region: 'all',
              ours: true,
              impact: 'minor',
              status: 'investigating',
              createdAt: undefined,
              shortlink: undefined,
            },
          ],
        },
      }),
    );
    expect(text).toContain('Delayed Gmail sync (minor, investigating)');
  });
});
