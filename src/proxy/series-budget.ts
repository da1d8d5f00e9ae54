import { METHOD_BITS } from './route-methods.js';
import { OTHER_MATCH, type RouteMatch } from './routes.js';

/**
 * Keeps the route-labelled families bounded (a client sweeping every template with every
 * method would reach ~32,000 series and scrapes of several hundred milliseconds). Two rules, both
 * applied before a request is labelled, so its metrics and span agree:
 * - a method the route does not have is labelled route="other" (a bounded bucket: 7 methods);
 * - only the first `max` distinct (route, method) pairs are labelled by name; later pairs are
 *   route="other" too, and each request folded that way is counted by `onFold`.
 * An admitted pair keeps its name for the life of the process, so ordinary traffic (a few dozen
 * pairs) is labelled exactly as before. On the hot path this is a map lookup and two bit tests.
 */
export function createSeriesBudget(opts: { max: number; templates: number; onFold: () => void }) {
  /** Admitted methods per template slot, as masks of METHOD_BITS. */
  const admitted = new Uint8Array(opts.templates);
  let pairs = 0;
  return function label(m: RouteMatch, method: string): RouteMatch {
    if (m.slot < 0) return m;
    const bit = METHOD_BITS.get(method) ?? 0;
    if ((m.methods & bit) === 0) return OTHER_MATCH;
    if ((admitted[m.slot]! & bit) !== 0) return m;
    if (pairs >= opts.max) {
      opts.onFold();
      return OTHER_MATCH;
    }
    admitted[m.slot] = admitted[m.slot]! | bit;
    pairs++;
    return m;
  };
}

export type SeriesBudget = ReturnType<typeof createSeriesBudget>;
