/** Something with a deadline that a periodic sweep checks. */
export interface Watched {
  /** Checks the deadline at `now` (performance.now()); returns false once it needs no more checks. */
  check(now: number): boolean;
}

/**
 * One interval timer for every deadline the proxy keeps (waiting for an upstream connection, a
 * request body that stalls, a socket idle while draining), instead of a timer per request: on the
 * hot path, watching is an array push, and most requests are never watched at all. The timer runs
 * only while something is watched, so an idle proxy has no timer.
 */
export class Sweeper {
  private items: Watched[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `periodMs` is the resolution: a deadline fires up to one period late. */
  constructor(private readonly periodMs: number) {}

  add(item: Watched): void {
    this.items.push(item);
    if (this.timer === undefined) {
      this.timer = setInterval(this.sweep, this.periodMs);
      this.timer.unref();
    }
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    const items = this.items;
    this.items = [];
    const kept: Watched[] = [];
    for (const item of items) if (item.check(now)) kept.push(item);
    // Items added during the sweep (a check may start a retry) are kept too.
    this.items = kept.length === 0 ? this.items : kept.concat(this.items);
    if (this.items.length === 0) this.stop();
  };

  /** Stops the timer; items added later start it again. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
