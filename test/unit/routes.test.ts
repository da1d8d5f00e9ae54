import { describe, expect, it } from 'vitest';
import {
  allRouteLabels,
  createRouteMatcher,
  decodedSegment,
  type RouteMatch,
} from '../../src/proxy/routes.js';
import { V2_TEMPLATES, V3_TEMPLATES } from '../../src/proxy/route-table.js';
import { METHOD_BITS } from '../../src/proxy/route-methods.js';

const match = createRouteMatcher();

/** Replaces each {param} of a template with a value that looks like a real ID. */
function instantiate(template: string): string {
  return template.replace(/\{([a-z_0-9]+)\}/g, (_m, name: string) =>
    name === 'grant_id' ? 'd2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a' : `AAMkAGI2TG93AAA${name.length}=`,
  );
}

/**
 * The matcher as first written, the plain way (split the path, decode each segment, look it up),
 * kept as the reference the in-place matcher must agree with.
 */
function referenceMatcher(
  templates: readonly string[],
): (path: string) => Omit<RouteMatch, 'methods' | 'slot'> {
  type N = { lit: Map<string, N>; param?: N; template?: string; grantIndex: number };
  const root: N = { lit: new Map(), grantIndex: -1 };
  for (const t of templates) {
    const segs = t.split('/').slice(1);
    let n = root;
    for (const s of segs) {
      if (s.startsWith('{')) n = n.param ??= { lit: new Map(), grantIndex: -1 };
      else {
        if (!n.lit.has(s)) n.lit.set(s, { lit: new Map(), grantIndex: -1 });
        n = n.lit.get(s)!;
      }
    }
    n.template = t;
    n.grantIndex = segs.indexOf('{grant_id}');
  }
  const decode = (seg: string) => {
    try {
      return decodeURIComponent(seg);
    } catch {
      return seg;
    }
  };
  const walk = (n: N, segs: string[], i: number): N | undefined => {
    if (i === segs.length) return n.template !== undefined ? n : undefined;
    if (segs[i] === '') return undefined;
    const lit = n.lit.get(decode(segs[i]!));
    const found = lit && walk(lit, segs, i + 1);
    return found || (n.param ? walk(n.param, segs, i + 1) : undefined);
  };
  return (path) => {
    const end = path.length > 1 && path.endsWith('/') ? path.length - 1 : path.length;
    const segs = path.slice(1, end).split('/');
    const n = segs.length > 12 ? undefined : walk(root, segs, 0);
    if (!n) return { route: 'other', grantScoped: false, grantSegment: undefined };
    return {
      route: n.template!,
      grantScoped: n.template!.startsWith('/v3/grants/{grant_id}/'),
      grantSegment: n.grantIndex < 0 ? undefined : segs[n.grantIndex],
    };
  };
}

describe('route table', () => {
  it('agrees with the plain split-and-look-up matcher on every kind of path', () => {
    const templates = [...V3_TEMPLATES, ...V2_TEMPLATES];
    const reference = referenceMatcher(templates);
    // A seeded generator: the same paths every run.
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    const odd = [
      '',
      'me',
      'a%2Fb',
      'user%40example.com',
      '%E0%A4%A',
      'x'.repeat(40),
      '.',
      'm%65ssages',
    ];
    const segment = (s: string): string => {
      if (s.startsWith('{')) return rand(3) === 0 ? odd[rand(odd.length)]! : `id${rand(1000)}`;
      // A literal, sometimes percent-encoded (still that literal once decoded), sometimes cut.
      const r = rand(24);
      if (r === 0) return s.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`);
      if (r === 1) return s.slice(0, -1);
      return s;
    };
    let checked = 0;
    for (let i = 0; i < 20_000; i++) {
      const t = templates[rand(templates.length)]!;
      let segs = t.split('/').slice(1).map(segment);
      if (rand(6) === 0)
        segs = [...segs, ...Array.from({ length: rand(12) }, () => segment('{x}'))];
      if (rand(8) === 0) segs.splice(rand(segs.length + 1), 0, '');
      let path = `/${segs.join('/')}`;
      if (rand(5) === 0) path += '/';
      const ours = match(path);
      expect(
        { route: ours.route, grantScoped: ours.grantScoped, grantSegment: ours.grantSegment },
        path,
      ).toEqual(reference(path));
      checked += ours.route === 'other' ? 0 : 1;
    }
    // Most generated paths are real routes, not all turned away.
    expect(checked).toBeGreaterThan(10_000);
  });

  it('answers grant paths as the reference does at the edges (trailing slashes, `me`, escapes, cut literals)', () => {
    const reference = referenceMatcher([...V3_TEMPLATES, ...V2_TEMPLATES]);
    const id = 'd2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a';
    const paths = [
      // Literal tails, each with and without the one trailing slash tolerated.
      ...V3_TEMPLATES.filter((t) => /^\/v3\/grants\/\{grant_id\}(\/[a-z-]+)+$/.test(t)).flatMap(
        (t) => [t.replace('{grant_id}', id), `${t.replace('{grant_id}', id)}/`],
      ),
      // Not one empty segment more, none in place of the id, no second slash.
      `/v3/grants/${id}/messages//`,
      `/v3/grants//messages`,
      `/v3/grants/${id}//messages`,
      `/v3/grants/${id}/`,
      `/v3/grants/${id}`,
      // An id of a literal's length at /v3/grants/ (`me`), and `me` itself.
      '/v3/grants/me/messages',
      '/v3/grants/ab/messages',
      '/v3/grants/me',
      // Escapes: in the tail (still that literal once decoded), in the id.
      `/v3/grants/${id}/m%65ssages`,
      '/v3/grants/user%40example.com/messages',
      `/v3/grants/${id}/messages%2Fsend`,
      // A tail with a parameter, a literal cut short or run on, and case.
      `/v3/grants/${id}/messages/m1`,
      `/v3/grants/${id}/message`,
      `/v3/grants/${id}/messagesx`,
      `/v3/grants/${id}/Messages`,
      `/v3/grants/${id}/messages/send/x`,
    ];
    for (const path of paths) {
      const ours = match(path);
      expect(
        { route: ours.route, grantScoped: ours.grantScoped, grantSegment: ours.grantSegment },
        path,
      ).toEqual(reference(path));
    }
    expect(match(`/v3/grants/${id}/messages//`).route).toBe('other');
    expect(match(`/v3/grants/${id}/messages/`)).toMatchObject({
      route: '/v3/grants/{grant_id}/messages',
      grantSegment: id,
    });
  });

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

  // v2 calls as the v2 Node SDK (6.x) made them; that SDK is not installed, so they are listed.
  it.each([
    ['GET', '/contacts/d2b6b8f4c1/picture', '/contacts/{id}/picture'],
    ['POST', '/neural/categorize/feedback', '/neural/categorize/feedback'],
    ['PUT', '/neural/sentiment', '/neural/{feature}'],
    ['POST', '/v2/outbox', '/v2/outbox'],
    ['PATCH', '/v2/outbox/job-7a1c', '/v2/outbox/{id}'],
    ['DELETE', '/v2/outbox/job-7a1c', '/v2/outbox/{id}'],
    ['GET', '/v2/outbox/onboard/verified_status', '/v2/outbox/onboard/verified_status'],
    ['DELETE', '/v2/outbox/onboard/subuser', '/v2/outbox/onboard/subuser'],
  ])('names the v2 call %s %s with a method its route has', (method, path, route) => {
    const m = match(path);
    expect(m.route).toBe(route);
    expect(m.methods & METHOD_BITS.get(method)!).not.toBe(0);
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

describe('decodedSegment', () => {
  it('percent-decodes a segment, and says when an escape is malformed', () => {
    expect(decodedSegment('plain')).toBe('plain');
    expect(decodedSegment('a%2Fb')).toBe('a/b');
    expect(decodedSegment('%2e%2e')).toBe('..');
    expect(decodedSegment('user%40example.com')).toBe('user@example.com');
    expect(decodedSegment('%zz')).toBeUndefined();
    expect(decodedSegment('100%')).toBeUndefined();
  });
});
