import type { Channel } from './channels.js';
// What every simulator route handler gets: the options, the world and the current faults.
import type { Faults } from './faults.js';
import type { Accounts, Grants, WebhookDestination } from './state.js';
import type { StatusPage } from './status-page.js';

/** Counters for tests. */
export interface SimulatorStats {
  /** Every request to the API, v2 and status-page routes (not the control API). */
  requests: number;
  /** Of those, the ones the sidecar's own pollers and lookups made (user-agent nylas-sidecar). */
  sidecarRequests: number;
  /** Requests to /v3/grants and /v3/grants/{id} (the application-scoped Grants API). */
  grantsRequests: number;
  /** Most Grants API requests that arrived within any one second (sliding window). */
  grantsMaxPerSecond: number;
  /** Requests refused by the simulated 50 req/s application limit (not fault 429s). */
  rateLimited: number;
  /** v2 downgrade/upgrade calls, in order. */
  accountRestarts: Array<{ accountId: string; action: 'downgrade' | 'upgrade'; at: number }>;
  /** The last send (JSON or multipart): bytes received and attachments seen. */
  lastSend?: { multipart: boolean; bytes: number; attachments: number };
}

export interface SimContext {
  readonly seed: number;
  readonly now: () => number;
  readonly apiKey: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly webhookSecret: string;
  readonly grantsRateLimitPerSecond: number;
  faults: Faults;
  readonly grants: Grants;
  readonly webhooks: Map<string, WebhookDestination>;
  /** Pub/Sub and SNS notification channels. */
  readonly channels: Map<string, Channel>;
  readonly accounts: Accounts;
  readonly statusPage: StatusPage;
  readonly stats: SimulatorStats;
  /** Sends so far (for message IDs) and the Idempotency-Key cache of message sends. */
  readonly sends: {
    count: number;
    idempotency: Map<string, { fingerprint: string; at: number; data: unknown } | 'pending'>;
  };
  /** A seeded [0,1) source for run-time decisions. */
  readonly random: () => number;
  /** A delay that is cancelled when the simulator stops. */
  sleep(ms: number): Promise<void>;
  /** Told when a grant is deleted through the API (grant.deleted, with notifications on). */
  grantDeleted(i: number): void;
  /** Nylas's `?challenge=` handshake against a destination URL; resolves whether it passed. */
  challenge(url: string): Promise<boolean>;
}
