export { createMetrics } from './catalog.js';
export type { Metrics, MetricsOptions } from './catalog.js';
export { createExposition, wantsOpenMetrics } from './exposition.js';
export type { Exposition } from './exposition.js';
export type { CounterCell, ExemplarIds, HistogramCell } from './fast.js';
