// Credential health: whether a 401 is the grant's or the API key's (key-health.ts), and what
// verified grant.* notifications say about grants (grant-health.ts). The proxy, the pollers, the
// webhook listener and the admin pages all share it; it depends on none of them.
export { createKeyHealth } from './key-health.js';
export type { Blame, KeyHealth, KeyHealthDeps, KeyProblem, KeySource } from './key-health.js';
export { createGrantHealth, isGrantHealthTrigger, NOTIFICATION_TTL_MS } from './grant-health.js';
export type {
  GrantHealth,
  GrantHealthTrigger,
  NotifiedGrant,
  NotifiedState,
} from './grant-health.js';
export type { UpstreamErrorRecord } from './error-record.js';
