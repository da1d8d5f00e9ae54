export { createTracing } from './setup.js';
export type { Tracing, TracingOptions } from './setup.js';
