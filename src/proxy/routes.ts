import { OTHER_ROUTE, V2_TEMPLATES, V3_TEMPLATES } from './route-table.js';
import { routeMethodMask } from './route-methods.js';

/** What the route table says about a request path. */
export interface RouteMatch {
  /** The path template, or "other". */
  route: string;
  /** The route is under /v3/grants/{grant_id}/ (a 401 there means the grant needs re-auth). */
  grantScoped: boolean;
  /** The raw {grant_id} segment, when the template has one. */
  grantSegment: string | undefined;
  /** The methods the route has, as a mask of METHOD_BITS (0 for "other"). */
  methods: number;
  /** The template's index (-1 for "other"): a slot for per-route state kept in arrays. */
  slot: number;
}

interface Node {
  literals: Map<string, Node>;
  param: Node | undefined;
  /** Set where a template ends. */
  template: string | undefined;
  /** Position of {grant_id} in the template's segments, or -1. */
  grantIndex: number;
  slot: number;
  /** The shared match of the template ending here, made on its first match. */
  result: RouteMatch | undefined;
}

const newNode = (): Node => ({
  literals: new Map(),
  param: undefined,
  template: undefined,
  grantIndex: -1,
  slot: -1,
  result: undefined,
});

function build(templates: readonly string[]): Node {
  const root = newNode();
  for (const [slot, t] of templates.entries()) {
    const segs = t.split('/').slice(1);
    let node = root;
    for (const s of segs) {
      if (s.startsWith('{')) node = node.param ??= newNode();
      else {
        let next = node.literals.get(s);
        if (!next) node.literals.set(s, (next = newNode()));
        node = next;
      }
    }
    node.template = t;
    node.grantIndex = segs.indexOf('{grant_id}');
    node.slot = slot;
  }
  return root;
}

/** The match for any path, or method, that is not in the table. */
export const OTHER_MATCH: RouteMatch = Object.freeze({
  route: OTHER_ROUTE,
  grantScoped: false,
  grantSegment: undefined,
  methods: 0,
  slot: -1,
});
const OTHER = OTHER_MATCH;

/** Decodes a segment for comparison with literals; a malformed escape is kept as it is. */
function decode(seg: string): string {
  if (!seg.includes('%')) return seg;
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/**
 * Builds the matcher: literal segments win over parameters, with backtracking, so
 * `/v3/grants/me/messages` is `{grant_id}` = `me` while `/v3/grants/me` is its own route.
 * Segments are split on `/` before any `%2F` is decoded, so an encoded slash stays in its
 * parameter. Results for a template are shared objects: matching allocates only the segment list.
 */
export function createRouteMatcher(
  templates: readonly string[] = [...V3_TEMPLATES, ...V2_TEMPLATES],
) {
  const root = build(templates);

  const walk = (node: Node, segs: string[], i: number): Node | undefined => {
    if (i === segs.length) return node.template !== undefined ? node : undefined;
    const seg = segs[i]!;
    if (seg === '') return undefined;
    const lit = node.literals.get(decode(seg));
    if (lit) {
      const found = walk(lit, segs, i + 1);
      if (found) return found;
    }
    return node.param ? walk(node.param, segs, i + 1) : undefined;
  };

  return function match(pathname: string): RouteMatch {
    // One trailing slash is tolerated; any other empty segment is not a Nylas path.
    const end =
      pathname.length > 1 && pathname.endsWith('/') ? pathname.length - 1 : pathname.length;
    const segs = pathname.slice(1, end).split('/');
    if (segs.length > 12) return OTHER;
    const node = walk(root, segs, 0);
    if (!node) return OTHER;
    const template = node.template!;
    let shared = node.result;
    if (!shared) {
      shared = node.result = {
        route: template,
        grantScoped: template.startsWith('/v3/grants/{grant_id}/'),
        grantSegment: undefined,
        methods: routeMethodMask(template),
        slot: node.slot,
      };
    }
    if (node.grantIndex < 0) return shared;
    return {
      route: shared.route,
      grantScoped: shared.grantScoped,
      grantSegment: segs[node.grantIndex],
      methods: shared.methods,
      slot: shared.slot,
    };
  };
}

export type RouteMatcher = ReturnType<typeof createRouteMatcher>;

/** Every route label the proxy can emit. */
export function allRouteLabels(): string[] {
  return [...V3_TEMPLATES, ...V2_TEMPLATES, OTHER_ROUTE];
}
