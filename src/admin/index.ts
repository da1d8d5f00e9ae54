export { createAdminApp } from './server.js';
export type { AdminOptions, AdminState } from './server.js';
export { createDemoRouter } from './demo.js';
export { createStatusRouter } from './status.js';
export { createTrafficSampler } from './traffic.js';
export type { TrafficSampler } from './traffic.js';
