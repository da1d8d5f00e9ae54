import { describe, expect, it } from 'vitest';
import { allRouteLabels, createRouteMatcher } from '../../src/proxy/routes.js';
import { V2_TEMPLATES, V3_TEMPLATES } from '../../src/proxy/route-table.js';

const match = createRouteMatcher();

/** Replaces each {param} of a template with a value that looks like a real ID. */
function instantiate(template: string): string {
  return template.replace(/\{([a-z_0-9]+)\}/g, (_m, name: string) =>
    name === 'grant_id' ? 'd2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a' : `AAMkAGI2TG93AAA${name.length}=`,
  );
}

describe('route table', () => {
  it.each([...V3_TEMPLATES, ...V2_TEMPLATES])('matches its own template: %s', (template) => {
    expect(match(instantiate(template)).route).toBe(template);
  });

  it.each([
    ['/v3/grants/me', '/v3/grants/me'],
    ['/v3/grants/me/messages', '/v3/grants/{grant_id}/messages'],
    ['/v3/grants/g1/messages/send', '/v3/grants/{grant_id}/messages/send'],
    ['/v3/grants/g1/messages/clean', '/v3/grants/{grant_id}/messages/clean'],
    ['/v3/grants/g1/messages/schedules', '/v3/grants/{grant_id}/messages/schedules'],
    ['/v3/grants/g1/messages/smart-compose', '/v3/grants/{grant_id}/messages/smart-compose'],
    [
      '/v3/grants/g1/messages/m1/smart-compose',
      '/v3/grants/{grant_id}/messages/{message_id}/smart-compose',
    ],
    ['/v3/grants/g1/events/import', '/v3/grants/{grant_id}/events/import'],
    ['/v3/grants/g1/calendars/free-busy', '/v3/grants/{grant_id}/calendars/free-busy'],
    ['/v3/grants/g1/calendars/primary', '/v3/grants/{grant_id}/calendars/{calendar_id}'],
    ['/v3/grants/g1/contacts/groups', '/v3/grants/{grant_id}/contacts/groups'],
    ['/v3/webhooks/mock-payload', '/v3/webhooks/mock-payload'],
    ['/v3/webhooks/send-test-event', '/v3/webhooks/send-test-event'],
    ['/v3/webhooks/ip-addresses', '/v3/webhooks/ip-addresses'],
    ['/v3/webhooks/rotate-secret/w1', '/v3/webhooks/rotate-secret/{webhook_id}'],
    ['/v3/webhooks/w1/rotate-secret', '/v3/webhooks/{webhook_id}/rotate-secret'],
    ['/v3/workspaces/auto-group', '/v3/workspaces/auto-group'],
    ['/v3/templates/render', '/v3/templates/render'],
    ['/a/client123/accounts/acc1/downgrade', '/a/{client_id}/accounts/{id}/downgrade'],
    ['/messages/search', '/messages/search'],
  ])('lets literal segments win over parameters: %s', (path, route) => {
    expect(match(path).route).toBe(route);
  });

  it.each([
    'd2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a',
    'user@example.com',
    'user%40example.com',
    'grant:d2b6b8f4',
    'email:user%40example.com',
    'external:my-user-42',
    'me',
  ])('takes every form of grant identifier as {grant_id}: %s', (grant) => {
    const m = match(`/v3/grants/${grant}/messages/AAMkAGI2%2FTG93AAA=`);
    expect(m.route).toBe('/v3/grants/{grant_id}/messages/{message_id}');
    expect(m.grantScoped).toBe(true);
    expect(m.grantSegment).toBe(grant);
  });

  it('keeps an encoded slash inside its parameter', () => {
    expect(match('/v3/grants/g1/attachments/a%2Fb%23c/download').route).toBe(
      '/v3/grants/{grant_id}/attachments/{attachment_id}/download',
    );
  });

  it('tolerates one trailing slash and nothing else odd', () => {
    expect(match('/v3/grants/').route).toBe('/v3/grants');
    expect(match('/v3//grants').route).toBe('other');
    expect(match('/v3/grants/g1/messages/m1/extra/deep').route).toBe('other');
  });

  it.each([
    '/',
    '/v3',
    '/v4/grants',
    '/v3/grants/g1/unknown',
    '/favicon.ico',
    '/v3/grants/g1/messages/m1/x',
  ])('labels an unknown path as other: %s', (path) => {
    expect(match(path)).toMatchObject({
      route: 'other',
      grantScoped: false,
      grantSegment: undefined,
    });
  });

  it('never exposes a value that is not a template', () => {
    const labels = new Set(allRouteLabels());
    for (let i = 0; i < 2000; i++) {
      const segs = Array.from({ length: 1 + (i % 7) }, (_, j) =>
        j % 2
          ? Math.random().toString(36).slice(2)
          : ['v3', 'grants', 'messages', 'a', 'events'][j % 5]!,
      );
      expect(labels.has(match(`/${segs.join('/')}`).route)).toBe(true);
    }
  });
});
