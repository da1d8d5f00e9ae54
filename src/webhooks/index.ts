export {
  createWebhookListener,
  DEFAULT_TIMINGS,
  MAX_BODY_BYTES,
  MAX_BUFFERED_BYTES,
} from './listener.js';
export type { WebhookListener, WebhookListenerDeps, WebhookListenerOptions } from './listener.js';
export type { WebhookTimings } from './context.js';
export type { NotificationOutcome } from './notification.js';
export type { ChallengeOutcome } from './challenge.js';
export { triggerLabel, knownTriggers } from './triggers.js';
