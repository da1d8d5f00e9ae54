export { createTracing, noTracing } from './setup.js';
export type { Tracing, TracingOptions } from './setup.js';
export type { ProxySpan, ProxySpans } from './proxy-spans.js';
