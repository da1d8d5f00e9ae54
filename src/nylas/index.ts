export { createNylasClient, fetchStatusSummary } from './client.js';
export type { NylasApiName, NylasClient, NylasClientOptions, PageQuery } from './client.js';
export { NylasCallError } from './http.js';
export { parseRetryAfter } from '../util/retry-after.js';
export type { NylasCallErrorCode } from './http.js';
export type { Grant, StatusSummary, V2Account, V2Webhook, Webhook } from './schemas.js';
