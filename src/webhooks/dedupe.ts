/** Options of the duplicate-notification window. */
export interface DedupeOptions {
  /** Most notification ids remembered; the least recently seen is forgotten first. */
  maxEntries: number;
  /** How long an id is remembered, in milliseconds. */
  ttlMs: number;
  /** Clock in milliseconds (injected in tests). */
  now: () => number;
}

/** A bounded memory of notification ids the app has acknowledged. */
export interface DedupeWindow {
  /** True when `id` was remembered within the window. */
  has(id: string): boolean;
  /** Remembers `id` from now on (refreshes it when already known). */
  remember(id: string): void;
  readonly size: number;
}

/**
 * Creates the window: an insertion-ordered Map used as an LRU with a time limit. Memory is
 * bounded by maxEntries whatever senders do; ids longer than 256 characters are not remembered
 * (Nylas ids are far shorter, and a sender must not make the window hold large strings).
 */
export function createDedupeWindow(opts: DedupeOptions): DedupeWindow {
  const seen = new Map<string, number>();
  const prune = (now: number) => {
    for (const [id, at] of seen) {
      if (now - at < opts.ttlMs) break;
      seen.delete(id);
    }
  };
  return {
    has(id) {
      const now = opts.now();
      prune(now);
      const at = seen.get(id);
      return at !== undefined && now - at < opts.ttlMs;
    },
    remember(id) {
      if (id.length > 256 || opts.maxEntries <= 0) return;
      const now = opts.now();
      seen.delete(id);
      seen.set(id, now);
      while (seen.size > opts.maxEntries) {
        const oldest = seen.keys().next();
        if (oldest.done === true) break;
        seen.delete(oldest.value);
      }
    },
    get size() {
      return seen.size;
    },
  };
}
