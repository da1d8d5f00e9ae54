import type { Registry, RegistryContentType } from 'prom-client';

// The proxy updates a handful of metrics on every request. prom-client hashes the label object
// (sorting its keys) and validates it on every inc()/observe(), even through labels() children;
// at tens of thousands of requests per second that showed up in profiles. These two classes keep
// one plain cell per label set, found once and cached by the caller, so the hot path is an
// addition; prom-client's registry still renders them (it only needs name, help, type and get()).

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number };
}

interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

/**
 * A latency exemplar's ids. The proxy passes its span (whose ids are made into hex strings only
 * when read: here, when a scrape renders the exemplar), or the trace id of the app's traceparent.
 */
export interface ExemplarIds {
  readonly traceId: string;
  readonly spanId: string | undefined;
}

/** One label set's running total. */
export interface CounterCell {
  value: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** A counter rendered by a prom-client registry, updated through cached cells. */
export class FastCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly cells = new Map<string, CounterCell>();

  constructor(
    public name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: Registry<RegistryContentType>,
  ) {
    registry.registerMetric(this as never);
  }

  /** The cell for these label values, in labelNames order; keep it and add to `.value`. */
  cell(...values: string[]): CounterCell {
    const key = values.join('\u0000');
    let c = this.cells.get(key);
    if (!c) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
      c = { value: 0, labels };
      this.cells.set(key, c);
    }
    return c;
  }

  /** Visits every cell (readers off the hot path, e.g. the overview's sampler). */
  forEachCell(fn: (cell: Readonly<CounterCell>) => void): void {
    for (const c of this.cells.values()) fn(c);
  }

  /** Convenience for cold paths: increments by label object. */
  inc(labels: Record<string, string>, by = 1): void {
    this.cell(...this.labelNames.map((n) => labels[n] ?? '')).value += by;
  }

  /** Zeroes every cell (cells stay valid: callers keep them). */
  reset(): void {
    for (const c of this.cells.values()) c.value = 0;
  }

  get(): Promise<MetricData> {
    const values: MetricValue[] = [];
    for (const c of this.cells.values()) values.push({ labels: c.labels, value: c.value });
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: 'counter',
      values,
      aggregator: 'sum',
    });
  }
}

/** One label set's histogram: per-bucket counts (not cumulative), sum and count. */
export interface HistogramCell {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
  /**
   * The latest exemplar per bucket (OpenMetrics only), kept as fields and made into prom-client's
   * exemplar objects when rendered: observe() allocates nothing.
   */
  readonly exemplarIds: (ExemplarIds | undefined)[];
  readonly exemplarValues: Float64Array;
  /** Epoch milliseconds. */
  readonly exemplarTimes: Float64Array;
}

/** A histogram rendered by a prom-client registry, observed through cached cells. */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly cells = new Map<string, HistogramCell>();
  private readonly bounds: Float64Array;
  private readonly leLabels: string[];

  constructor(
    public name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    buckets: readonly number[],
    registry: Registry<RegistryContentType>,
  ) {
    this.bounds = Float64Array.from(buckets);
    this.leLabels = [...buckets.map(String), '+Inf'];
    registry.registerMetric(this as never);
  }

  cell(...values: string[]): HistogramCell {
    const key = values.join('\u0000');
    let c = this.cells.get(key);
    if (!c) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
      c = {
        labels,
        counts: new Float64Array(this.bounds.length + 1),
        sum: 0,
        count: 0,
        exemplarIds: new Array<undefined>(this.bounds.length + 1),
        exemplarValues: new Float64Array(this.bounds.length + 1),
        exemplarTimes: new Float64Array(this.bounds.length + 1),
      };
      this.cells.set(key, c);
    }
    return c;
  }

  /** Visits every cell (readers off the hot path, e.g. the overview's sampler). */
  forEachCell(fn: (cell: Readonly<HistogramCell>) => void): void {
    for (const c of this.cells.values()) fn(c);
  }

  /** Records one value; `ids` become the bucket's exemplar. */
  observe(c: HistogramCell, value: number, ids?: ExemplarIds): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    c.counts[i]!++;
    c.sum += value;
    c.count++;
    if (ids !== undefined) {
      c.exemplarIds[i] = ids;
      c.exemplarValues[i] = value;
      c.exemplarTimes[i] = Date.now();
    }
  }

  /** Zeroes every cell (cells stay valid: callers keep them). */
  reset(): void {
    for (const c of this.cells.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
      c.exemplarIds.fill(undefined);
    }
  }

  get(): Promise<MetricData> {
    const values: MetricValue[] = [];
    for (const c of this.cells.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.leLabels.length; i++) {
        cumulative += c.counts[i]!;
        const v: MetricValue = {
          labels: { ...c.labels, le: this.leLabels[i]! },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        };
        const ids = c.exemplarIds[i];
        if (ids !== undefined) {
          const traceId = ids.traceId;
          const spanId = ids.spanId;
          v.exemplar = {
            labelSet: spanId ? { trace_id: traceId, span_id: spanId } : { trace_id: traceId },
            value: c.exemplarValues[i]!,
            timestamp: c.exemplarTimes[i]! / 1000,
          };
        }
        values.push(v);
      }
      values.push({ labels: c.labels, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: c.labels, value: c.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: 'histogram',
      values,
      aggregator: 'sum',
    });
  }
}
