import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ProxySpanJsonWriter, type SpanWriter, type SpanWriterFactory } from './otlp-json.js';
import type { ProxySpan } from './proxy-spans.js';

/*
 * The proxy's batch span processor: the SDK's BatchSpanProcessor semantics
 * (OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_SCHEDULE_DELAY,
 * OTEL_BSP_EXPORT_TIMEOUT; one export at a time, all at once on a flush), with each span written
 * into its batch's request bytes as it ends instead of kept as an object until the batch is sent.
 *
 * Measured at saturation (`npm run bench`), keeping spans as objects until their batch
 * was exported cost the sidecar more CPU per request than everything else it does over a bare
 * proxy: spans that survive young-generation collections get copied and promoted, and a batch of
 * 512 was then encoded in a burst. Written as they end, a span's object dies young, the encoding
 * is spread evenly over requests, and a batch waiting to be sent is one buffer that the garbage
 * collector never scans.
 */

/** One export request: OTLP/JSON or OTLP/protobuf bytes holding `count` spans. */
export interface EncodedBatch {
  readonly bytes: Uint8Array;
  readonly count: number;
  /** The whole buffer `bytes` is a view of, reused for a later batch once this one is answered. */
  readonly buffer: Buffer;
}

/** Buffers kept for the next batches: one being written, one being sent, one spare. */
const SPARE_BUFFERS = 3;
/** A buffer grown beyond this (huge request ids) is not kept. */
const MAX_SPARE_BYTES = 4 * 1024 * 1024;

/** Sends batches: the OTLP exporter's transport (endpoint, headers, retries, timeout). */
export interface BatchExporter {
  export(batch: EncodedBatch, resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

/** Spans that did not reach the receiver, and why: the export failed, or the queue was full. */
export type SpanLoss =
  | { event: 'span_export_failed'; spans: number; error: string }
  | { event: 'span_export_dropped'; spans: number };

export interface SpanBatcherOptions {
  exporter: BatchExporter;
  /** Writes the spans of one export request: OTLP/JSON (the default) or OTLP/protobuf. */
  writer?: SpanWriterFactory;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE; 512 by default. */
  maxExportBatchSize?: number;
  /** OTEL_BSP_MAX_QUEUE_SIZE: spans waiting for export beyond this are dropped; 2048. */
  maxQueueSize?: number;
  /** OTEL_BSP_SCHEDULE_DELAY: the longest a span waits for its batch to fill; 5000 ms. */
  scheduledDelayMillis?: number;
  /** OTEL_BSP_EXPORT_TIMEOUT: an export not answered by then counts as failed; 30000 ms. */
  exportTimeoutMillis?: number;
  /** Told of every loss (the caller logs them, rate-limited). */
  onLoss?: (loss: SpanLoss) => void;
}

export class ProxySpanBatcher {
  private readonly exporter: BatchExporter;
  private readonly writer: SpanWriterFactory;
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly delayMs: number;
  private readonly exportTimeoutMs: number;
  private readonly onLoss: (loss: SpanLoss) => void;
  /** The batch being written. */
  private open: SpanWriter | undefined;
  /** Batches written and waiting for their export. */
  private readonly ready: EncodedBatch[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  /** While above 0, every ready batch is exported at once (a flush, the shutdown). */
  private flushing = 0;
  private idleWaiters: (() => void)[] = [];
  /**
   * Buffers of answered batches. Allocating a fresh one per batch (400 KB at the default size)
   * counted as external memory growth to V8, which then ran a full mark-compact every second or
   * two at saturation; with reuse it runs none.
   */
  private readonly spare: Buffer[] = [];
  private stopping: Promise<void> | undefined;
  /** Spans by outcome, for the shutdown's summary and tests. */
  readonly counts = { exported: 0, failed: 0, dropped: 0 };

  constructor(options: SpanBatcherOptions) {
    const positive = (v: number | undefined, d: number) =>
      v !== undefined && Number.isFinite(v) && v > 0 ? Math.floor(v) : d;
    this.exporter = options.exporter;
    this.writer = options.writer ?? ((n, reuse) => new ProxySpanJsonWriter(n, reuse));
    this.maxQueue = positive(options.maxQueueSize, 2048);
    // As the SDK: a batch never holds more than the queue.
    this.maxBatch = Math.min(positive(options.maxExportBatchSize, 512), this.maxQueue);
    this.delayMs = positive(options.scheduledDelayMillis, 5000);
    this.exportTimeoutMs = positive(options.exportTimeoutMillis, 30_000);
    this.onLoss = options.onLoss ?? (() => undefined);
  }

  /** Spans written and not yet handed to the exporter (the SDK's queue): at most a few batches. */
  private queued(): number {
    let n = this.open?.count ?? 0;
    for (const b of this.ready) n += b.count;
    return n;
  }

  /** Writes an ended span into the open batch; sends the batch once it is full. */
  onEnd(span: ProxySpan): void {
    if (this.stopping !== undefined || this.queued() >= this.maxQueue) {
      this.counts.dropped++;
      this.onLoss({ event: 'span_export_dropped', spans: 1 });
      return;
    }
    const w = (this.open ??= this.writer(this.maxBatch, this.spare.pop()));
    w.add(span);
    if (w.count >= this.maxBatch) this.seal();
    else if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, this.delayMs);
      this.timer.unref();
    }
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.seal();
  };

  /** Closes the open batch (if any span is in it) and sends what is ready. */
  private seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const w = this.open;
    this.open = undefined;
    const bytes = w?.finish();
    if (w !== undefined && bytes !== undefined)
      this.ready.push({ bytes, count: w.count, buffer: w.buffer });
    this.pump();
  }

  private pump(): void {
    while (this.ready.length > 0 && (this.inFlight === 0 || this.flushing > 0)) {
      const batch = this.ready.shift()!;
      this.inFlight++;
      let settled = false;
      const settle = (result: ExportResult, timedOut = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(guard);
        this.inFlight--;
        // Answered, the request's bytes are written and done with; one that timed out here may
        // still be in the exporter's hands (a retry), so its buffer is left to it.
        if (
          !timedOut &&
          this.spare.length < SPARE_BUFFERS &&
          batch.buffer.length <= MAX_SPARE_BYTES
        )
          this.spare.push(batch.buffer);
        if (result.code === ExportResultCode.SUCCESS) this.counts.exported += batch.count;
        else {
          this.counts.failed += batch.count;
          this.onLoss({
            event: 'span_export_failed',
            spans: batch.count,
            error: result.error?.message ?? 'export failed',
          });
        }
        this.pump();
        if (this.inFlight === 0 && this.ready.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      };
      const guard = setTimeout(
        () => settle({ code: ExportResultCode.FAILED, error: new Error('export timed out') }, true),
        this.exportTimeoutMs,
      );
      guard.unref();
      try {
        this.exporter.export(batch, settle);
      } catch (err) {
        settle({ code: ExportResultCode.FAILED, error: err as Error });
      }
    }
  }

  /** Sends every span written so far, all batches at once; resolves when each is answered. */
  async forceFlush(): Promise<void> {
    this.flushing++;
    try {
      this.seal();
      if (this.inFlight > 0 || this.ready.length > 0)
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    } finally {
      this.flushing--;
    }
  }

  /** Flushes, then stops the exporter; spans ended afterwards are dropped (and counted). */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      await this.forceFlush();
      await this.exporter.shutdown();
    })();
    return this.stopping;
  }
}
