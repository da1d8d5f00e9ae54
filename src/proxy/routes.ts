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
  /**
   * The literals again, by length: a segment is compared in place with those of its length
   * (no substring, no hash), and a long id is turned away by its length alone.
   */
  byLength: ([string, Node][] | undefined)[];
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
  byLength: [],
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
        if (!next) {
          node.literals.set(s, (next = newNode()));
          (node.byLength[s.length] ??= []).push([s, next]);
        }
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

/** A path segment percent-decoded, or undefined when one of its escapes is malformed. */
export function decodedSegment(seg: string): string | undefined {
  if (!seg.includes('%')) return seg;
  try {
    return decodeURIComponent(seg);
  } catch {
    return undefined;
  }
}

/** Decodes a segment for comparison with literals; a malformed escape is kept as it is. */
function decode(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** Most segments a path may have and still match a template. */
const MAX_SEGMENTS = 12;

/**
 * Builds the matcher: literal segments win over parameters, with backtracking, so
 * `/v3/grants/me/messages` is `{grant_id}` = `me` while `/v3/grants/me` is its own route.
 * Segments are split on `/` before any `%2F` is decoded, so an encoded slash stays in its
 * parameter. Results for a template are shared objects: matching allocates nothing for a path
 * without `{grant_id}` and only that segment for one with it. The path is not split: segments
 * are found by their bounds and compared in place (a split and a hashed map lookup per segment
 * cost about 4,000 instructions a request, counted with Valgrind's callgrind).
 */
export function createRouteMatcher(
  templates: readonly string[] = [...V3_TEMPLATES, ...V2_TEMPLATES],
) {
  const root = build(templates);
  // Bounds of the path's segments, for the match under way (matching is synchronous).
  const starts = new Int32Array(MAX_SEGMENTS);
  const ends = new Int32Array(MAX_SEGMENTS);
  /** Where the path's first `%` is, or -1. */
  let firstEscape = -1;

  const literal = (node: Node, path: string, i: number, escaped: boolean): Node | undefined => {
    const start = starts[i]!;
    const end = ends[i]!;
    if (escaped) return node.literals.get(decode(path.slice(start, end)));
    const same = node.byLength[end - start];
    if (same === undefined) return undefined;
    for (const [text, next] of same) if (path.startsWith(text, start)) return next;
    return undefined;
  };

  const walk = (node: Node, path: string, i: number, count: number): Node | undefined => {
    if (i === count) return node.template !== undefined ? node : undefined;
    const start = starts[i]!;
    const end = ends[i]!;
    if (start === end) return undefined;
    // Only a segment with an escape is decoded, as a whole, for the lookup.
    let escaped = false;
    if (firstEscape >= 0 && firstEscape < end) {
      const at = path.indexOf('%', start);
      escaped = at >= 0 && at < end;
    }
    const lit = literal(node, path, i, escaped);
    if (lit) {
      const found = walk(lit, path, i + 1, count);
      if (found) return found;
    }
    return node.param ? walk(node.param, path, i + 1, count) : undefined;
  };

  return function match(pathname: string): RouteMatch {
    // One trailing slash is tolerated; any other empty segment is not a Nylas path.
    const last =
      pathname.length > 1 && pathname.endsWith('/') ? pathname.length - 1 : pathname.length;
    let count = 0;
    for (let at = 1; ;) {
      if (count === MAX_SEGMENTS) return OTHER;
      const slash = pathname.indexOf('/', at);
      const end = slash < 0 || slash > last ? last : slash;
      starts[count] = at;
      ends[count++] = end;
      if (end === last) break;
      at = end + 1;
    }
    firstEscape = pathname.indexOf('%');
    const node = walk(root, pathname, 0, count);
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
      grantSegment: pathname.slice(starts[node.grantIndex], ends[node.grantIndex]),
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
