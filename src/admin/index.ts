export { createAdminApp } from './server.js';
export type { AdminOptions, AdminState } from './server.js';
// The status pages and the demo's routes are express routers: loaded when a role mounts them, so
// that a proxy replica answering only /metrics and the probes never loads express.
export const loadStatusRouter = async () => (await import('./status.js')).createStatusRouter;
export const loadDemoRouter = async () => (await import('./demo.js')).createDemoRouter;
export { createTrafficSampler } from './traffic.js';
export type { TrafficSampler } from './traffic.js';
