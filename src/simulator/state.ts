// The simulator's mutable world: grant statuses, webhook destinations, v2 accounts. Seeded data
// is generated on demand (data.ts); only what has been changed is stored.
import { randomUUID } from 'node:crypto';
import type { Faults } from './faults.js';
import { frac, hash32, pick, seededUuid } from './random.js';
import { grantIndexOfEmail, grantIndexOfId } from './data.js';

export type GrantStatus = 'valid' | 'invalid';
export type WebhookStatus = 'active' | 'pause' | 'failing' | 'failed';
export const WEBHOOK_STATUSES: readonly WebhookStatus[] = ['active', 'pause', 'failing', 'failed'];

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The inverse of a modulo m (a and m coprime), as a BigInt. */
function modInverse(a: number, m: number): bigint {
  if (m === 1) return 0n;
  let [r0, r1] = [BigInt(a), BigInt(m)];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  const mm = BigInt(m);
  return ((s0 % mm) + mm) % mm;
}

/** Grant statuses for `count` seeded grants; O(1) per lookup, memory only for changes. */
export class Grants {
  readonly overrides = new Map<number, GrantStatus>();
  readonly deleted = new Set<number>();
  private readonly stride: number;
  /** The initially invalid indices, ascending; computed on first use (20,000 of 1,000,000: 80 kB). */
  private startInvalid: Int32Array | undefined;

  constructor(
    readonly seed: number,
    readonly count: number,
    private readonly invalidAtStart: number,
  ) {
    // A stride coprime with count spreads the initially invalid grants over the whole range.
    let k = 7919;
    while (count > 1 && gcd(k, count) !== 1) k += 2;
    this.stride = k;
  }

  /** Resolves a path identifier (id, `grant:id`, email, `email:addr`) to an index, or -1. */
  indexOf(identifier: string): number {
    let s = identifier;
    let i = -1;
    if (s.startsWith('grant:')) s = s.slice(6);
    if (s.startsWith('email:') || s.includes('@')) {
      i = grantIndexOfEmail(this.seed, s.replace(/^email:/, ''));
    } else {
      i = grantIndexOfId(this.seed, s);
    }
    return i >= 0 && i < this.count && !this.deleted.has(i) ? i : -1;
  }

  /**
   * Every invalid, live grant index in ascending order, without visiting the valid ones: what
   * `grant_status=invalid` needs to stay cheap with a million grants. Undefined while the
   * `invalidGrantShare` fault is on (that share can only be found by visiting every grant).
   */
  invalidIndices(faults: Faults): number[] | undefined {
    if (faults.invalidGrantShare > 0) return undefined;
    this.startInvalid ??= this.computeStartInvalid();
    const out: number[] = [];
    const extra = [...this.overrides]
      .filter(([, s]) => s === 'invalid')
      .map(([i]) => i)
      .sort((a, b) => a - b);
    let k = 0;
    const push = (i: number) => {
      if (!this.deleted.has(i) && this.status(i, faults) === 'invalid') out.push(i);
    };
    for (const i of this.startInvalid) {
      while (k < extra.length && extra[k]! < i) push(extra[k++]!);
      if (k < extra.length && extra[k] === i) k++;
      push(i);
    }
    while (k < extra.length) push(extra[k++]!);
    return out;
  }

  /** i is initially invalid when (i * stride) mod count < invalidAtStart: invert the stride. */
  private computeStartInvalid(): Int32Array {
    const inv = modInverse(this.stride % this.count, this.count);
    const out = new Int32Array(this.invalidAtStart);
    for (let r = 0; r < this.invalidAtStart; r++)
      out[r] = Number((BigInt(r) * inv) % BigInt(this.count));
    return out.sort();
  }

  status(i: number, faults: Faults): GrantStatus {
    const o = this.overrides.get(i);
    if (o) return o;
    if (this.count > 0 && (i * this.stride) % this.count < this.invalidAtStart) return 'invalid';
    if (faults.invalidGrantShare > 0 && frac(this.seed, 40, i) < faults.invalidGrantShare)
      return 'invalid';
    return 'valid';
  }
}

export interface WebhookDestination {
  id: string;
  description: string;
  trigger_types: string[];
  webhook_url: string;
  status: WebhookStatus;
  notification_email_addresses: string[];
  compressed_delivery: boolean;
  status_updated_at: number;
  created_at: number;
  updated_at: number;
  /** Seeded destinations have imaginary endpoints: they are listed but never delivered to. */
  seeded: boolean;
}

/** The public shape of a destination (no internal fields, never the secret). */
export function webhookView(w: WebhookDestination): Record<string, unknown> {
  const view: Partial<WebhookDestination> = { ...w };
  delete view.seeded;
  return view;
}

export function seedWebhooks(seed: number, nowSec: number): Map<string, WebhookDestination> {
  const defs: Array<[string, string[], string]> = [
    [
      'CRM sync',
      ['message.created', 'message.updated', 'thread.replied'],
      'https://crm.example.com/hooks/nylas',
    ],
    [
      'Calendar automation',
      ['event.created', 'event.updated', 'event.deleted'],
      'https://calendar.example.com/nylas/events',
    ],
    [
      'Grant lifecycle',
      ['grant.created', 'grant.updated', 'grant.deleted', 'grant.expired'],
      'https://ops.example.com/nylas/grants',
    ],
  ];
  const map = new Map<string, WebhookDestination>();
  defs.forEach(([description, trigger_types, webhook_url], k) => {
    const id = seededUuid(seed, 50, k, 'b');
    map.set(id, {
      id,
      description,
      trigger_types,
      webhook_url,
      status: 'active',
      notification_email_addresses: ['oncall@example.com'],
      compressed_delivery: false,
      status_updated_at: nowSec - 86_400 * (k + 1),
      created_at: nowSec - 86_400 * 90,
      updated_at: nowSec - 86_400 * (k + 1),
      seeded: true,
    });
  });
  return map;
}

export function newWebhookId(): string {
  return randomUUID();
}

/** A v2 management account. */
export interface Account {
  id: string;
  account_id: string;
  email: string;
  provider: string;
  sync_state: string;
  billing_state: string;
  authentication_type: string;
  namespace_id: string;
  trial: boolean;
  metadata: Record<string, string>;
}

const V2_PROVIDERS = ['gmail', 'eas', 'ews', 'imap', 'office365', 'gmail', 'office365'];

function v2Id(seed: number, tag: number, k: number): string {
  let s = '';
  for (let n = 0; s.length < 25; n++) s += hash32(seed, tag, k, n).toString(36);
  return s.slice(0, 25);
}

/** v2 accounts: few enough (hundreds at most) to keep as objects. */
export class Accounts {
  readonly list: Account[] = [];
  /** Explicit sync states (control API, upgrade); win over the stopped-share fault. */
  readonly overrides = new Map<string, string>();
  readonly downgraded = new Set<string>();

  constructor(
    private readonly seed: number,
    count: number,
  ) {
    for (let k = 0; k < count; k++) {
      const id = v2Id(seed, 60, k);
      const provider = pick(V2_PROVIDERS, frac(seed, 61, k));
      this.list.push({
        id,
        account_id: id,
        email: `v2-user-${k}@${provider}.example.com`,
        provider,
        sync_state: 'running',
        billing_state: 'paid',
        authentication_type: provider === 'imap' ? 'password' : 'oauth',
        namespace_id: v2Id(seed, 62, k),
        trial: false,
        metadata: {},
      });
    }
  }

  find(id: string): Account | undefined {
    return this.list.find((a) => a.id === id);
  }

  /** The account as Nylas would show it now. */
  view(a: Account, faults: Faults): Account {
    const k = this.list.indexOf(a);
    let sync = this.overrides.get(a.id);
    if (sync === undefined)
      sync =
        faults.stoppedAccountShare > 0 && frac(this.seed, 63, k) < faults.stoppedAccountShare
          ? 'stopped'
          : a.sync_state;
    return {
      ...a,
      sync_state: sync,
      billing_state: this.downgraded.has(a.id) ? 'cancelled' : a.billing_state,
    };
  }
}
