import type { ProxySpan, ProxySpanShared } from './proxy-spans.js';

/**
 * The buffer an export request is written into, span by span (./otlp-json.ts, ./otlp-proto.ts):
 * sized for the batch up front, or a reused one, and grown only when text from outside (a long
 * request id) does not fit.
 */
export abstract class SpanBytes {
  protected buf: Buffer;
  protected off = 0;
  /** Spans written so far. */
  count = 0;

  /** `reuse`: the buffer of a batch whose export has ended, to write this one into. */
  constructor(initialBytes: number, reuse?: Buffer) {
    this.buf = reuse ?? Buffer.allocUnsafe(initialBytes);
  }

  /** The buffer the request is written into (whole; finish() returns the written part). */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Room for `n` more bytes. */
  protected ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(bigger, 0, 0, this.off);
    this.buf = bigger;
  }

  protected put(b: Buffer): void {
    this.buf.set(b, this.off);
    this.off += b.length;
  }

  /** `n` bytes of `from` at `at` as lowercase hex (an id's bytes, as ProxySpan keeps them). */
  protected putHexBytes(from: Buffer, at: number, n: number): void {
    const buf = this.buf;
    let off = this.off;
    for (let i = at; i < at + n; i++) {
      const b = from[i]!;
      buf[off++] = HEX_DIGITS[b >>> 4]!;
      buf[off++] = HEX_DIGITS[b & 15]!;
    }
    this.off = off;
  }
}

/** The character codes of the lowercase hex digits. */
const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * What an encoding repeats for every span of one method and route (its name, its fixed
 * attributes), made once by `make`. Cached by route, then method: both come from closed tables
 * (see proxy/server.ts), so no key is built per span; a span whose name is not
 * `{method} {route}` gets fresh fragments, not cached.
 */
export function fragmentCache<F extends { readonly spanName: string }, X>(
  make: (span: ProxySpan, extra: X) => F,
): (span: ProxySpan, extra: X) => F {
  const byShared = new WeakMap<ProxySpanShared, Map<string, Map<string, F>>>();
  // A process has one shared part: remembered, it saves a WeakMap lookup per span.
  let lastShared: ProxySpanShared | undefined;
  let lastByRoute: Map<string, Map<string, F>> | undefined;
  return (span, extra) => {
    let byRoute = span.shared === lastShared ? lastByRoute : byShared.get(span.shared);
    if (byRoute === undefined)
      byShared.set(span.shared, (byRoute = new Map<string, Map<string, F>>()));
    lastShared = span.shared;
    lastByRoute = byRoute;
    let byMethod = byRoute.get(span.route);
    if (byMethod === undefined) byRoute.set(span.route, (byMethod = new Map<string, F>()));
    let f = byMethod.get(span.method);
    if (f === undefined || f.spanName !== span.name) {
      f = make(span, extra);
      if (span.name === `${span.method} ${span.route}`) byMethod.set(span.method, f);
    }
    return f;
  };
}

/** What an encoding makes once per process (the request's frame): by the spans' shared part. */
export function perProcess<F>(make: (span: ProxySpan) => F): (span: ProxySpan) => F {
  const made = new WeakMap<ProxySpanShared, F>();
  return (span) => {
    let f = made.get(span.shared);
    if (f === undefined) made.set(span.shared, (f = make(span)));
    return f;
  };
}

/**
 * Bytes made once per number (a status code; a status and flags): those below 1,024 kept in an
 * array (an indexed load per span, where a Map lookup hashed the number), at most 1,000 others in
 * a map. The numbers the proxy passes are a closed set; any beyond the cap are made each time.
 */
export function byNumber(make: (n: number) => Buffer): (n: number) => Buffer {
  const small = new Array<Buffer | undefined>(1024).fill(undefined);
  const made = new Map<number, Buffer>();
  return (n) => {
    if (n >= 0 && n < 1024 && Number.isInteger(n)) return (small[n] ??= make(n));
    let b = made.get(n);
    if (b === undefined) {
      b = make(n);
      if (made.size < 1000) made.set(n, b);
    }
    return b;
  };
}
