import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/index.js';
import type { ExemplarIds } from '../../src/metrics/fast.js';

describe('latency exemplars', () => {
  it('keep the latest ids per bucket and read them only when rendered', async () => {
    const metrics = createMetrics({
      latencyBuckets: [0.1, 1],
      version: 't',
      defaultMetrics: false,
    });
    const h = metrics.apiRequestDuration.cell('2xx');
    // Ids as the proxy passes them: its span, whose hex strings are made when first read.
    let reads = 0;
    const ids = (traceId: string, spanId: string | undefined): ExemplarIds => ({
      get traceId() {
        reads++;
        return traceId;
      },
      get spanId() {
        reads++;
        return spanId;
      },
    });
    metrics.apiRequestDuration.observe(h, 0.05, ids('a'.repeat(32), 'b'.repeat(16)));
    metrics.apiRequestDuration.observe(h, 0.07, ids('c'.repeat(32), 'd'.repeat(16)));
    // The app's traceparent alone (no span exported): a trace id and no span id.
    metrics.apiRequestDuration.observe(h, 0.5, ids('e'.repeat(32), undefined));
    metrics.apiRequestDuration.observe(h, 5);
    expect(reads).toBe(0);
    const { values } = await metrics.apiRequestDuration.get();
    const exemplar = (le: string) =>
      values.find((v) => v.metricName?.endsWith('_bucket') && v.labels.le === le)?.exemplar;
    expect(exemplar('0.1')).toMatchObject({
      labelSet: { trace_id: 'c'.repeat(32), span_id: 'd'.repeat(16) },
      value: 0.07,
    });
    expect(exemplar('1')).toMatchObject({ labelSet: { trace_id: 'e'.repeat(32) }, value: 0.5 });
    expect(exemplar('1')?.labelSet).not.toHaveProperty('span_id');
    expect(exemplar('+Inf')).toBeUndefined();
    expect(reads).toBe(4);
  });
});
