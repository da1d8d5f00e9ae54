// The benchmark's OTLP receiver counts spans without a full decode (test/helpers/otlp-count.ts); the
// benchmark's "every span exported" check rests on it, so it must agree with the writers.
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';
import { countProtoSpans, countSpans, eachJsonSpan } from '../helpers/otlp-count.js';
import { serializeProxySpans } from '../../src/tracing/otlp-json.js';
import { serializeProxySpansProto } from '../../src/tracing/otlp-proto.js';
import { createProxySpans, type ProxySpan } from '../../src/tracing/proxy-spans.js';

const shared = {
  serverAddress: '127.0.0.1',
  serverPort: 4010,
  resource: resourceFromAttributes({ 'service.name': 'nylas-sidecar' }),
  scope: { name: 'nylas-sidecar', version: '1' },
};
const ROUTE = '/v3/grants/{grant_id}/messages';

function makeSpans(n: number): ProxySpan[] {
  const out: ProxySpan[] = [];
  const spans = createProxySpans(shared, undefined, { onEnd: (s) => out.push(s) });
  for (let i = 0; i < n; i++) {
    const s = spans.start(`GET ${ROUTE}`, 'GET', ROUTE, undefined, 1000 + i)!;
    s.statusCode = i % 7 === 0 ? 503 : 200;
    s.requestId = `req-${i}`;
    // Attempts are children: their parentSpanId must not be counted as a span of its own.
    if (i % 5 === 0)
      spans.attempt(s, 1000 + i, 1000.5 + i, {
        resendCount: 1,
        statusCode: 503,
        errorType: '503',
      });
    spans.end(s, 1000.25 + i);
  }
  return out;
}

describe("the benchmark receiver's span count", () => {
  it.each([1, 37, 512])('counts %i spans (and their retried attempts) in OTLP/protobuf', (n) => {
    const spans = makeSpans(n);
    const body = Buffer.from(serializeProxySpansProto(spans)!);
    const seen: [string, string, number][] = [];
    expect(countProtoSpans(body, (id, trace, s) => seen.push([id, trace, s]))).toBe(spans.length);
    expect(seen.map(([id]) => id)).toEqual(spans.map((s) => s.spanId));
    expect(seen[0]![1]).toBe(spans[0]!.traceId);
    expect(seen.at(-1)![2]).toBeCloseTo(0.00025, 9);
  });

  it.each([1, 37, 512])('counts %i spans (and their retried attempts) in OTLP/JSON', (n) => {
    const spans = makeSpans(n);
    const body = Buffer.from(serializeProxySpans(spans)!);
    expect(countSpans(body)).toBe(spans.length);
    const ids: string[] = [];
    eachJsonSpan(body, (id) => ids.push(id));
    expect(ids).toEqual(spans.map((s) => s.spanId));
  });
});
