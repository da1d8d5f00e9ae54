export { createTracing, noTracing } from './setup.js';
export type { Tracing, TracingOptions } from './setup.js';
