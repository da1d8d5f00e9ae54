import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { createProxySpans, type ProxySpan } from '../../src/tracing/proxy-spans.js';
import {
  ProxySpanBatcher,
  type BatchExporter,
  type EncodedBatch,
  type SpanBatcherOptions,
  type SpanLoss,
} from '../../src/tracing/span-batcher.js';

const shared = {
  serverAddress: 'api.us.nylas.com',
  serverPort: 443,
  resource: resourceFromAttributes({ 'service.name': 'nylas-sidecar' }),
  scope: { name: 'nylas-sidecar', version: '1.2.3' },
};

/** An exporter that holds every batch until the test answers it. */
function heldExporter() {
  const calls: { batch: EncodedBatch; copy: Buffer; answer: (r: ExportResult) => void }[] = [];
  let shutdowns = 0;
  const exporter: BatchExporter = {
    export(batch, answer) {
      calls.push({ batch, copy: Buffer.from(batch.bytes), answer });
    },
    shutdown: () => {
      shutdowns++;
      return Promise.resolve();
    },
  };
  const ok = (i: number) => calls[i]!.answer({ code: ExportResultCode.SUCCESS });
  return { exporter, calls, ok, shutdowns: () => shutdowns };
}

/** A batcher in front of a held exporter, recording what it reports lost. */
function setup(options: Omit<SpanBatcherOptions, 'exporter' | 'onLoss'>) {
  const held = heldExporter();
  const losses: SpanLoss[] = [];
  const batcher = new ProxySpanBatcher({
    ...options,
    exporter: held.exporter,
    onLoss: (l) => losses.push(l),
  });
  return { held, losses, batcher };
}

/** Ends `n` spans through `processor`, each with its own request id; returns them. */
function endSpans(processor: { onEnd(s: ProxySpan): void }, n: number, tag = 'r'): ProxySpan[] {
  const mine: ProxySpan[] = [];
  const spans = createProxySpans(shared, undefined, {
    onEnd: (s) => {
      mine.push(s);
      processor.onEnd(s);
    },
  });
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const s = spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!;
    s.statusCode = 200;
    s.requestId = `${tag}-${i}`;
    spans.end(s, t0 + 1);
  }
  return mine;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const requestIds = (b: Uint8Array) =>
  [...text(b).matchAll(/"nylas\.request_id","value":\{"stringValue":"([^"]+)"/g)].map((m) => m[1]);

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('proxy span batcher', () => {
  it('sends a full batch as the OpenTelemetry serializer would, once its last span ends', () => {
    const held = heldExporter();
    const batcher = new ProxySpanBatcher({ exporter: held.exporter, maxExportBatchSize: 4 });
    const spans = endSpans(batcher, 3);
    expect(held.calls).toHaveLength(0);
    spans.push(...endSpans(batcher, 1, 'last'));
    expect(held.calls).toHaveLength(1);
    expect(held.calls[0]!.batch.count).toBe(4);
    expect(text(held.calls[0]!.batch.bytes)).toBe(
      text(JsonTraceSerializer.serializeRequest(spans)!),
    );
  });

  it('sends a partial batch after OTEL_BSP_SCHEDULE_DELAY', () => {
    vi.useFakeTimers();
    const held = heldExporter();
    const batcher = new ProxySpanBatcher({
      exporter: held.exporter,
      maxExportBatchSize: 100,
      scheduledDelayMillis: 200,
    });
    endSpans(batcher, 5);
    vi.advanceTimersByTime(199);
    expect(held.calls).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(held.calls).toHaveLength(1);
    expect(requestIds(held.calls[0]!.batch.bytes)).toEqual(['r-0', 'r-1', 'r-2', 'r-3', 'r-4']);
  });

  it('exports one batch at a time, and reuses a buffer only once its export is answered', () => {
    const held = heldExporter();
    const batcher = new ProxySpanBatcher({ exporter: held.exporter, maxExportBatchSize: 3 });
    endSpans(batcher, 3, 'a');
    endSpans(batcher, 3, 'b');
    // The second batch waits for the first's answer; the first's bytes stay as sent.
    expect(held.calls).toHaveLength(1);
    held.ok(0);
    expect(held.calls).toHaveLength(2);
    expect(requestIds(held.calls[1]!.batch.bytes)).toEqual(['b-0', 'b-1', 'b-2']);
    // The third batch is written into the first's buffer while the second is still out.
    endSpans(batcher, 3, 'c');
    expect(held.calls[2]).toBeUndefined();
    held.ok(1);
    const third = held.calls[2]!.batch;
    expect(third.buffer).toBe(held.calls[0]!.batch.buffer);
    expect(third.buffer).not.toBe(held.calls[1]!.batch.buffer);
    expect(requestIds(third.bytes)).toEqual(['c-0', 'c-1', 'c-2']);
    // What each export was handed did not change while it was out.
    expect(Buffer.from(held.calls[1]!.batch.bytes).equals(held.calls[1]!.copy)).toBe(true);
    expect(batcher.counts).toEqual({ exported: 6, failed: 0, dropped: 0 });
  });

  it('drops (and reports) spans beyond OTEL_BSP_MAX_QUEUE_SIZE while the receiver is slow', () => {
    const { held, losses, batcher } = setup({
      maxExportBatchSize: 2,
      maxQueueSize: 4,
    });
    // 2 out for export, 4 queued, the rest dropped.
    endSpans(batcher, 9);
    expect(held.calls).toHaveLength(1);
    expect(batcher.counts.dropped).toBe(3);
    expect(losses).toEqual(Array(3).fill({ event: 'span_export_dropped', spans: 1 }));
    held.ok(0);
    held.ok(1);
    held.ok(2);
    expect(held.calls).toHaveLength(3);
    expect(held.calls.flatMap((c) => requestIds(c.batch.bytes))).toEqual([
      'r-0',
      'r-1',
      'r-2',
      'r-3',
      'r-4',
      'r-5',
    ]);
    expect(batcher.counts).toEqual({ exported: 6, failed: 0, dropped: 3 });
  });

  it('counts and reports a failed export, and goes on with the next batch', () => {
    const { held, losses, batcher } = setup({
      maxExportBatchSize: 2,
    });
    endSpans(batcher, 4);
    held.calls[0]!.answer({ code: ExportResultCode.FAILED, error: new Error('ECONNREFUSED') });
    expect(losses).toEqual([{ event: 'span_export_failed', spans: 2, error: 'ECONNREFUSED' }]);
    expect(held.calls).toHaveLength(2);
    held.ok(1);
    expect(batcher.counts).toEqual({ exported: 2, failed: 2, dropped: 0 });
  });

  it('gives up on an export not answered within OTEL_BSP_EXPORT_TIMEOUT, without reusing its buffer', () => {
    vi.useFakeTimers();
    const { held, losses, batcher } = setup({
      maxExportBatchSize: 2,
      exportTimeoutMillis: 1000,
    });
    endSpans(batcher, 4);
    vi.advanceTimersByTime(1000);
    expect(losses).toEqual([{ event: 'span_export_failed', spans: 2, error: 'export timed out' }]);
    expect(held.calls).toHaveLength(2);
    // The timed-out export may still be sending its bytes: the next batch is written elsewhere.
    endSpans(batcher, 2, 'n');
    expect(Buffer.from(held.calls[0]!.batch.bytes).equals(held.calls[0]!.copy)).toBe(true);
    // A late answer changes nothing.
    held.ok(0);
    held.ok(1);
    expect(held.calls[2]!.batch.buffer).not.toBe(held.calls[0]!.batch.buffer);
    expect(requestIds(held.calls[2]!.batch.bytes)).toEqual(['n-0', 'n-1']);
    expect(batcher.counts.failed).toBe(2);
  });

  it('on shutdown sends every span at once, waits for the answers, then drops late spans', async () => {
    const held = heldExporter();
    const batcher = new ProxySpanBatcher({
      exporter: held.exporter,
      maxExportBatchSize: 10,
      maxQueueSize: 100,
      scheduledDelayMillis: 600_000,
    });
    endSpans(batcher, 35);
    // One export out, two full batches waiting, five spans in the open batch.
    expect(held.calls).toHaveLength(1);
    let done = false;
    const stopping = batcher.shutdown().then(() => (done = true));
    expect(held.calls).toHaveLength(4);
    expect(held.calls.map((c) => c.batch.count)).toEqual([10, 10, 10, 5]);
    endSpans(batcher, 1, 'late');
    expect(batcher.counts.dropped).toBe(1);
    for (const i of [3, 1, 2]) held.ok(i);
    await Promise.resolve();
    expect(done).toBe(false);
    held.ok(0);
    await stopping;
    expect(held.shutdowns()).toBe(1);
    expect(batcher.counts).toEqual({ exported: 35, failed: 0, dropped: 1 });
    expect(held.calls.flatMap((c) => requestIds(c.batch.bytes))).toEqual(
      Array.from({ length: 35 }, (_, i) => `r-${i}`),
    );
  });

  it('grows its buffer for spans larger than it expected, and keeps the bytes valid', () => {
    const held = heldExporter();
    const batcher = new ProxySpanBatcher({ exporter: held.exporter, maxExportBatchSize: 3 });
    const spans = createProxySpans(shared, undefined, batcher);
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) {
      const s = spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!;
      s.requestId = '€"'.repeat(200_000);
      spans.end(s, t0 + 1);
    }
    const doc = JSON.parse(text(held.calls[0]!.batch.bytes)) as {
      resourceSpans: {
        scopeSpans: { spans: { attributes: { value: { stringValue: string } }[] }[] }[];
      }[];
    };
    const got = doc.resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(got).toHaveLength(3);
    for (const s of got) expect(s.attributes.at(-1)!.value.stringValue).toBe('€"'.repeat(200_000));
  });
});

/** A logger writing JSON lines into `logs`, parsed. */
async function captureLogs() {
  const { createLogger } = await import('../../src/log/logger.js');
  const { Writable } = await import('node:stream');
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    }),
  });
  return { logs, logger };
}

describe('proxy span export through createTracing', () => {
  it('logs spans a failing receiver did not take, once for a run of failures, without credentials', async () => {
    const { createTracing } = await import('../../src/tracing/setup.js');
    const { createServer } = await import('node:http');
    // A receiver that answers 400 (not retried by the exporter) to every batch.
    const bodies: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(400, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    const { logs, logger } = await captureLogs();
    const secret = 'Bearer otlp-CANARY-4f1c2e';
    // The OTLP exporter reads its settings from the process's environment, as in the sidecar.
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://user:pw-CANARY@127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=${encodeURIComponent(secret)}`,
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
    };
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    const tracing = await createTracing({ env, version: '1.2.3', logger });
    const spans = tracing.proxySpans({ address: '127.0.0.1', port: 1 })!;
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      spans.end(spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!, t0 + 1);
    }
    await tracing.shutdown();
    receiver.close();
    expect(bodies).toHaveLength(3);
    const failed = logs.filter((l) => l.event === 'span_export_failed');
    // The first failure at once; the next two within the minute are held back.
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ spans: 2, level: 'warn' });
    expect(JSON.stringify(logs)).not.toMatch(/CANARY/);
  });
});

describe('OTEL_EXPORTER_OTLP_PROTOCOL', () => {
  /** Exports one proxy span with `protocol` (unset: the default) and says what the receiver got. */
  async function exportOne(protocol: string | undefined) {
    const { createTracing } = await import('../../src/tracing/setup.js');
    const { startOtlpReceiver } = await import('../helpers/otlp-receiver.js');
    const otlp = await startOtlpReceiver();
    const { logs, logger } = await captureLogs();
    const env: Record<string, string> = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url };
    if (protocol !== undefined) env.OTEL_EXPORTER_OTLP_PROTOCOL = protocol;
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    const tracing = await createTracing({ env, version: '1.2.3', logger });
    const spans = tracing.proxySpans({ address: '127.0.0.1', port: 1 })!;
    const t0 = performance.now();
    spans.end(spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!, t0 + 1);
    await tracing.shutdown();
    await otlp.close();
    return {
      contentTypes: otlp.contentTypes,
      proxied: otlp.spans.filter((s) => s.name === 'GET /v3/grants').length,
      warned: logs.filter((l) => l.event === 'otlp_protocol_unsupported'),
    };
  }

  it('is http/protobuf when unset, as the OpenTelemetry specification says, and http/json on request', async () => {
    const unset = await exportOne(undefined);
    expect(unset).toMatchObject({
      contentTypes: ['application/x-protobuf'],
      proxied: 1,
      warned: [],
    });
    const json = await exportOne('http/json');
    expect(json).toMatchObject({ contentTypes: ['application/json'], proxied: 1, warned: [] });
  });

  it('says once that a protocol it does not speak (grpc) is replaced by http/protobuf, and exports', async () => {
    const { contentTypes, proxied, warned } = await exportOne('grpc');
    expect(warned).toHaveLength(1);
    expect(String(warned[0]!.msg)).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=grpc');
    expect(String(warned[0]!.msg)).toContain('sent as http/protobuf');
    expect(new Set(contentTypes)).toEqual(new Set(['application/x-protobuf']));
    expect(proxied).toBe(1);
  });
});
