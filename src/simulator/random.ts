// Deterministic, allocation-free randomness: every generated object is a pure function of the
// simulator's seed and the object's index, so 50,000 grants cost nothing until they are read.

/** A 32-bit hash of a seed and up to three integers (murmur3-style finaliser). */
export function hash32(seed: number, a: number, b = 0, c = 0): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const k of [a, b, c]) {
    let x = Math.imul(k | 0, 0xcc9e2d51);
    x = (x << 15) | (x >>> 17);
    x = Math.imul(x, 0x1b873593);
    h ^= x;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A number in [0, 1) derived from a seed and indices. */
export function frac(seed: number, a: number, b = 0, c = 0): number {
  return hash32(seed, a, b, c) / 4294967296;
}

/** Lowercase hex of a 32-bit value, zero-padded to `width`. */
export function hex(n: number, width = 8): string {
  return (n >>> 0).toString(16).padStart(width, '0').slice(-width);
}

/**
 * A UUID-shaped id (version 4 form) for fixture `k`, from hashes salted `salt` to `salt + 5`;
 * `variant` is its fourth group's first character.
 */
export function seededUuid(seed: number, salt: number, k: number, variant: string): string {
  const h = (i: number, width?: number) => hex(hash32(seed, salt + i, k), width);
  return `${h(0)}-${h(1, 4)}-4${h(2, 3)}-${variant}${h(3, 3)}-${h(4, 4)}${h(5)}`;
}

/** A seeded PRNG (mulberry32) for run-time decisions such as which request gets a fault. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks an element by a [0,1) value. */
export function pick<T>(items: readonly T[], r: number): T {
  return items[Math.min(items.length - 1, Math.floor(r * items.length))]!;
}
