/** One failed upstream call, as /status and /support show it. Nothing secret is kept. */
export interface UpstreamErrorRecord {
  /** Unix milliseconds. */
  time: number;
  method: string;
  route: string;
  code: number;
  errorType: string;
  requestId: string | undefined;
  /** The grant the call was for, when its path named one (for /support/{grant_id}). */
  grantId: string | undefined;
  /** The 401 was blamed on the grant or on the API key (auth/key-health.ts); unset while undecided. */
  blame?: 'grant' | 'key';
  /** The error carried a provider_error (the provider, not Nylas, failed). */
  providerError?: boolean;
}

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
