import type { UpstreamErrorRecord } from '../credentials/index.js';

/** A fixed-size ring of the most recent upstream errors. */
export class RecentErrors {
  private readonly items: (UpstreamErrorRecord | undefined)[];
  private next = 0;

  constructor(readonly capacity = 200) {
    this.items = new Array<UpstreamErrorRecord | undefined>(capacity);
  }

  push(record: UpstreamErrorRecord): void {
    this.items[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  list(filter?: (r: UpstreamErrorRecord) => boolean): UpstreamErrorRecord[] {
    const out: UpstreamErrorRecord[] = [];
    for (let i = 1; i <= this.capacity; i++) {
      const r = this.items[(this.next - i + this.capacity) % this.capacity];
      if (r && (!filter || filter(r))) out.push(r);
    }
    return out;
  }
}
