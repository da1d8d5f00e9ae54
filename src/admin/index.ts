export { createAdminApp } from './server.js';
export type { AdminOptions, AdminState } from './server.js';
