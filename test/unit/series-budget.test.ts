import { describe, expect, it } from 'vitest';
import { createRouteMatcher } from '../../src/proxy/routes.js';
import { createSeriesBudget } from '../../src/proxy/series-budget.js';
import { routeMethodMask, METHOD_BITS } from '../../src/proxy/route-methods.js';
import { V2_TEMPLATES, V3_TEMPLATES } from '../../src/proxy/route-table.js';

const match = createRouteMatcher();
const TEMPLATES = V3_TEMPLATES.length + V2_TEMPLATES.length;

describe('route methods', () => {
  const has = (template: string, method: string) =>
    (routeMethodMask(template) & METHOD_BITS.get(method)!) !== 0;

  it.each([
    ['/v3/grants/{grant_id}/messages/send', 'POST', true],
    ['/v3/grants/{grant_id}/messages/send', 'GET', false],
    ['/v3/grants/{grant_id}/messages', 'GET', true],
    ['/v3/grants/{grant_id}/messages', 'HEAD', true],
    ['/v3/grants/{grant_id}/messages/{message_id}', 'PUT', true],
    ['/v3/grants/{grant_id}/messages/{message_id}', 'POST', false],
    ['/v3/grants/{grant_id}/drafts/{draft_id}', 'POST', true],
    ['/v3/grants/{grant_id}/messages/clean', 'PUT', true],
    ['/v3/grants/{grant_id}/notetakers/{notetaker_id}/cancel', 'DELETE', true],
    ['/v3/grants/{grant_id}/events', 'POST', true],
    ['/a/{client_id}/accounts/{id}/downgrade', 'POST', true],
    ['/v3/grants', 'OPTIONS', false],
  ])('%s has %s: %s', (template, method, expected) => {
    expect(has(template, method)).toBe(expected);
  });
});

describe('series budget', () => {
  it('labels a method the route lacks as other without spending the budget', () => {
    let folds = 0;
    const label = createSeriesBudget({ max: 1, templates: TEMPLATES, onFold: () => folds++ });
    expect(label(match('/v3/grants/g/messages/send'), 'DELETE').route).toBe('other');
    expect(label(match('/v3/grants/g/messages/send'), 'POST').route).toBe(
      '/v3/grants/{grant_id}/messages/send',
    );
    expect(folds).toBe(0);
  });

  it('folds pairs past the budget, keeps admitted ones, and keeps the grant segment', () => {
    let folds = 0;
    const label = createSeriesBudget({ max: 2, templates: TEMPLATES, onFold: () => folds++ });
    expect(label(match('/v3/grants/g1/threads'), 'GET').route).toBe(
      '/v3/grants/{grant_id}/threads',
    );
    expect(label(match('/v3/grants/g1/threads/t'), 'PUT').route).toBe(
      '/v3/grants/{grant_id}/threads/{thread_id}',
    );
    expect(label(match('/v3/grants/g1/threads/t'), 'GET').route).toBe('other');
    expect(label(match('/v3/grants'), 'GET').route).toBe('other');
    const again = label(match('/v3/grants/g2/threads'), 'GET');
    expect(again.route).toBe('/v3/grants/{grant_id}/threads');
    expect(again.grantSegment).toBe('g2');
    expect(folds).toBe(2);
  });

  it('leaves unknown paths as they are', () => {
    const label = createSeriesBudget({ max: 0, templates: TEMPLATES, onFold: () => undefined });
    expect(label(match('/nope'), 'GET').route).toBe('other');
  });
});
