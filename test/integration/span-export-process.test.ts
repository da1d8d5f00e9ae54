import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Nylas } from '../../src/demo/nylas-sdk.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { startSidecarProcess } from '../helpers/process.js';
import { exemplarProblem, parseExemplars } from '../helpers/exemplars.js';

// The built sidecar writes each proxy span into its export request as it ends
// (src/tracing/span-batcher.ts); SIGTERM must still get every one of them to the receiver (spans
// are flushed before exit), in one batch or in many sent at once.

const API_KEY = 'nyk_v0_CANARYspanexport5e1d3c';
const TOKEN = 'ya29.CANARYspanexporttoken8f2a';

describe('the built sidecar: proxy spans on SIGTERM', () => {
  let upstream: FakeUpstream;
  let otlp: OtlpReceiver;

  beforeEach(async () => {
    upstream = await startFakeUpstream();
    otlp = await startOtlpReceiver();
  });
  afterEach(async () => {
    await otlp?.close();
    await upstream?.close();
  });

  for (const [batchSize, protocol] of [
    [1000, 'http/json'],
    [64, 'http/json'],
    [64, 'http/protobuf'],
  ] as const) {
    it(`exports a span for every request it proxied, none before shutdown and all after it (batches of ${batchSize}, ${protocol})`, async () => {
      const proc = await startSidecarProcess({
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        NYLAS_API_URI: upstream.url,
        NYLAS_API_KEY: API_KEY,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        // Nothing is exported on a timer. With batches larger than the requests only the shutdown
        // flush can deliver them; with small ones, it sends the rest of them at once.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: String(batchSize),
        OTEL_BSP_MAX_QUEUE_SIZE: '2048',
      });
      const nylas = new Nylas({ apiKey: API_KEY, apiUri: proc.proxyUrl });
      const sent = 300;
      for (let i = 0; i < sent / 10; i++)
        await Promise.all(
          Array.from({ length: 10 }, () =>
            nylas.messages.list({ identifier: 'grant-1', queryParams: { limit: 5 } }),
          ),
        );
      // Through the proxy with a bearer token and a query value: neither may reach a span.
      await fetch(`${proc.proxyUrl}/v3/grants/g1/threads?token=${TOKEN}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const before = otlp.spans.length;
      if (batchSize > sent) expect(before).toBe(0);

      const batchesBefore = otlp.rawBodies.length;
      expect(await proc.stop('SIGTERM')).toBe(0);
      // The shutdown sent whatever had not gone yet, in batches of at most OTEL_BSP_MAX_EXPORT_BATCH_SIZE.
      expect(otlp.rawBodies.length).toBeGreaterThan(batchesBefore);
      for (const n of otlp.batchSpans) expect(n).toBeLessThanOrEqual(batchSize);
      expect(new Set(otlp.contentTypes)).toEqual(
        new Set([protocol === 'http/json' ? 'application/json' : 'application/x-protobuf']),
      );
      if (batchSize < sent) expect(otlp.rawBodies.length).toBeGreaterThan(sent / batchSize);
      const proxied = otlp.spans.filter((s) => s.kind === 3 && s.name.startsWith('GET /v3/grants'));
      // One span per request that reached Nylas (the SDK may make more than one per call).
      const reached = upstream.seen.length;
      expect(reached).toBeGreaterThan(sent);
      expect(proxied).toHaveLength(reached);
      expect(new Set(proxied.map((s) => s.spanId)).size).toBe(reached);
      expect(proxied.filter((s) => s.name === 'GET /v3/grants/{grant_id}/messages')).toHaveLength(
        upstream.seen.filter((r) => r.url.includes('/messages')).length,
      );
      const bodies = otlp.rawBodies.join('\n');
      expect(bodies).not.toContain(API_KEY);
      expect(bodies).not.toContain(TOKEN);
    });
  }

  for (const protocol of ['http/json', 'http/protobuf'] as const)
    it(`leaves only valid latency exemplars: each names an exported span, with its trace id and duration, in its bucket (${protocol})`, async () => {
      const proc = await startSidecarProcess({
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        NYLAS_API_URI: upstream.url,
        NYLAS_API_KEY: API_KEY,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      });
      // Three routes (two answer 200, one 404), each warmed up first so that a cold first request
      // on a loaded machine does not land a fast call in a slow bucket; then latencies 0.1 s or
      // more apart (buckets 0.05, 0.25 and 0.5 s) on the routes the fault reaches.
      const routes = ['messages', 'threads', 'events'];
      for (const route of routes)
        await fetch(`${proc.proxyUrl}/v3/grants/g1/${route}`).then((r) => r.arrayBuffer());
      for (const route of routes)
        await Promise.all(
          [0, 150, 350].map((ms) =>
            fetch(`${proc.proxyUrl}/v3/grants/g1/${route}?fault=slow&ms=${ms}`).then((r) =>
              r.arrayBuffer(),
            ),
          ),
        );
      const om = await (
        await fetch(`${proc.adminUrl}/metrics`, {
          headers: { accept: 'application/openmetrics-text; version=1.0.0' },
        })
      ).text();
      // The banner says where spans go, and how.
      expect(proc.stderr.join('\n')).toContain(
        `traces:   ${otlp.url.replace(/\/+$/, '')}/v1/traces   (OTLP ${protocol})`,
      );
      const exemplars = parseExemplars(om);
      // Every series has one (the histogram is by status class: 2xx for two routes, 4xx for the
      // 404), and they sit in more than one bucket (how many depends on the machine's load, which
      // can push a call over a bound; validity below does not).
      const series = new Set(
        om
          .split('\n')
          .filter(
            (l) => l.startsWith('nylas_api_request_duration_seconds_bucket{') && l.includes(' # {'),
          )
          .map((l) => l.replace(/,?le="[^"]*"/, '').split(' ')[0]),
      );
      expect(series.size).toBe(2);
      expect(exemplars.length).toBeGreaterThanOrEqual(3);
      expect(new Set(exemplars.map((e) => e.le)).size).toBeGreaterThanOrEqual(2);
      expect(await proc.stop('SIGTERM')).toBe(0);
      const spans = new Map(
        otlp.spans.map((s) => [s.spanId, { traceId: s.traceId, seconds: s.durationSeconds }]),
      );
      expect(exemplars.flatMap((e) => exemplarProblem(e, spans.get(e.spanId)) ?? [])).toEqual([]);
    });
});
