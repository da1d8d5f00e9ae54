import { describe, expect, it, vi } from 'vitest';
import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { detectResources, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import {
  createProxySpans,
  nextId,
  ProxySpan,
  type ProxySpanShared,
} from '../../src/tracing/proxy-spans.js';
import { serializeProxySpans } from '../../src/tracing/otlp-json.js';
import { serializeProxySpansProto } from '../../src/tracing/otlp-proto.js';
import { decodeOtlpProto } from '../helpers/otlp-proto.js';
import { samplerFromEnv } from '../../src/tracing/export.js';

// The resource carries every attribute type the detectors produce (process.command_args is an
// array, process.pid a number) and a schema URL, so the encoder's frame is tested on them.
const shared: ProxySpanShared = {
  serverAddress: 'api.us.nylas.com',
  serverPort: 443,
  resource: resourceFromAttributes(
    { 'service.name': 'nylas-sidecar', 'service.version': '1.2.3', 'deployment.canary': true },
    { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' },
  ).merge(detectResources({ detectors: [processDetector] })),
  scope: { name: 'nylas-sidecar', version: '1.2.3' },
};

/** Collects what reaches the batch processor. */
function collector() {
  const ended: ProxySpan[] = [];
  const processor = { onEnd: (s: ProxySpan) => void ended.push(s) };
  return { ended, processor };
}

const remoteParent = (flags: number, state?: string) =>
  trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: flags,
    isRemote: true,
    traceState: state === undefined ? undefined : new TraceState(state),
  });

/** A realistic batch: a plain success, a remote parent with tracestate, an error, a retry. */
export function batch(): ProxySpan[] {
  const { ended, processor } = collector();
  const spans = createProxySpans(shared, samplerFromEnv({}), processor);
  const t0 = performance.now();
  const ok = spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!;
  ok.statusCode = 200;
  ok.requestId = 'req-1';
  spans.end(ok, t0 + 12.345678);

  const child = spans.start(
    'POST /v3/grants/{grant_id}/messages/send',
    'POST',
    '/v3/grants/{grant_id}/messages/send',
    remoteParent(TraceFlags.SAMPLED, 'vendor=a,other=b'),
    t0,
  )!;
  child.statusCode = 429;
  child.resendCount = 2;
  // A request id is whatever Nylas (or anything upstream) put in a header: escape it.
  child.requestId = 'weird "id" \\ with ünïcødé\n';
  child.errorType = '429';
  child.nylasErrorType = 'api.rate_limit_error';
  spans.attempt(child, t0 + 1, t0 + 2.5, {
    resendCount: 1,
    statusCode: 503,
    errorType: '503',
  });
  spans.end(child, t0 + 1500.000001);

  // Longer than the encoder's per-span estimate, in 3-byte UTF-8 characters: its buffer grows.
  const long = spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!;
  long.statusCode = 200;
  long.requestId = '€'.repeat(3000);
  spans.end(long, t0 + 1);

  const failed = spans.start(
    'GET /v3/grants/{grant_id}',
    'GET',
    '/v3/grants/{grant_id}',
    undefined,
    t0,
  )!;
  failed.errorType = 'upstream_timeout';
  failed.nylasErrorType = 'upstream_timeout';
  spans.end(failed, t0 + 30_000);

  // Control characters and a character outside the BMP (a surrogate pair in UTF-16).
  const odd = spans.start(
    'DELETE /v3/grants/{grant_id}',
    'DELETE',
    '/v3/grants/{grant_id}',
    undefined,
    t0,
  )!;
  odd.statusCode = 404;
  odd.requestId = 'x\u0001\u001f😀\u007f';
  spans.end(odd, t0 + 0.001);
  return ended;
}

const decode = (bytes: Uint8Array | undefined) =>
  JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;

describe('proxy spans', () => {
  it('encode to the bytes of the OpenTelemetry serializer', () => {
    const spans = batch();
    expect(spans).toHaveLength(6);
    const ours = new TextDecoder().decode(serializeProxySpans(spans));
    expect(ours).toBe(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
    // Every value survives: the decoded documents agree too.
    expect(JSON.parse(ours)).toEqual(decode(JsonTraceSerializer.serializeRequest(spans)));
  });

  it('encode one span of each name at a time as the serializer does a whole batch', () => {
    // A name other than `{method} {route}` is not cached under that method and route.
    const { ended, processor } = collector();
    const spans = createProxySpans(shared, samplerFromEnv({}), processor);
    const t0 = performance.now();
    for (const name of ['GET /v3/grants', 'custom name', 'GET /v3/grants']) {
      const s = spans.start(name, 'GET', '/v3/grants', undefined, t0)!;
      spans.end(s, t0 + 1);
    }
    expect(new TextDecoder().decode(serializeProxySpans(ended))).toBe(
      new TextDecoder().decode(JsonTraceSerializer.serializeRequest(ended)),
    );
  });

  it('write text from outside as the protobuf serializer does, around the short path', () => {
    // Values of up to 64 characters are written before their lengths are known, assuming
    // one-byte lengths: 35 euro signs (105 bytes) are the most a request id can take that way,
    // 36 are written again; 'error.type' (a shorter key) has room for 37, not 38.
    const { ended, processor } = collector();
    const spans = createProxySpans(shared, samplerFromEnv({}), processor);
    const t0 = performance.now();
    const values = [
      '',
      'a'.repeat(64),
      'a'.repeat(65),
      '€'.repeat(35),
      '€'.repeat(36),
      '€'.repeat(37),
      '€'.repeat(38),
      '😀'.repeat(32),
      '\ud800 lone',
    ];
    for (const v of values) {
      const s = spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!;
      s.statusCode = 500;
      s.requestId = v;
      s.errorType = v;
      s.nylasErrorType = v;
      spans.end(s, t0 + 1);
    }
    const ours = Buffer.from(serializeProxySpansProto(ended)!);
    expect(ours.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(ended)!))).toBe(true);
    // Every value is there, whole, as UTF-8.
    for (const v of values) expect(ours.includes(Buffer.from(v, 'utf8'))).toBe(true);
  });

  it('encode to the bytes of the OpenTelemetry protobuf serializer', () => {
    const spans = batch();
    // Longer than 16,383 bytes: the span's length takes three bytes instead of the two kept.
    const { ended, processor } = collector();
    const t0 = performance.now();
    const huge = createProxySpans(shared, samplerFromEnv({}), processor).start(
      'GET /v3/grants',
      'GET',
      '/v3/grants',
      undefined,
      t0,
    )!;
    huge.requestId = '€'.repeat(6000);
    huge.perfEnd = t0 + 2;
    processor.onEnd(huge);
    const all = [...spans, ...ended];
    const ours = Buffer.from(serializeProxySpansProto(all)!);
    expect(ours.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(all)!))).toBe(true);
    // One span alone, and a name other than `{method} {route}`, as well.
    for (const one of [[spans[0]!], [spans[2]!, spans[1]!]])
      expect(
        Buffer.from(serializeProxySpansProto(one)!).equals(
          Buffer.from(ProtobufTraceSerializer.serializeRequest(one)!),
        ),
      ).toBe(true);
    const { ended: named, processor: p2 } = collector();
    const s2 = createProxySpans(shared, samplerFromEnv({}), p2);
    for (const name of ['GET /v3/grants', 'custom name', 'GET /v3/grants']) {
      const s = s2.start(name, 'GET', '/v3/grants', undefined, t0)!;
      s2.end(s, t0 + 1);
    }
    expect(
      Buffer.from(serializeProxySpansProto(named)!).equals(
        Buffer.from(ProtobufTraceSerializer.serializeRequest(named)!),
      ),
    ).toBe(true);
  });

  it('decode from protobuf (protobufjs) to what the JSON says', () => {
    const spans = batch();
    interface Doc {
      resourceSpans: {
        resource: { attributes: { key: string; value: Record<string, unknown> }[] };
        scopeSpans: {
          scope: { name: string; version: string };
          spans: Record<string, unknown>[];
        }[];
      }[];
    }
    const summary = (doc: Doc) => {
      const value = (v: Record<string, unknown>) =>
        v.intValue !== undefined ? Number(v.intValue) : JSON.stringify(v);
      const attrs = (kvs: { key: string; value: Record<string, unknown> }[] | undefined) =>
        Object.fromEntries((kvs ?? []).map((kv) => [kv.key, value(kv.value)]));
      const rs = doc.resourceSpans[0]!;
      const ss = rs.scopeSpans[0]!;
      return {
        resource: attrs(rs.resource.attributes),
        scope: [ss.scope.name, ss.scope.version],
        spans: ss.spans.map((s) => ({
          ids: [s.traceId, s.spanId, s.parentSpanId ?? ''],
          traceState: s.traceState ?? '',
          name: s.name,
          kind: s.kind,
          times: [String(s.startTimeUnixNano), String(s.endTimeUnixNano)],
          attributes: attrs(s.attributes as never),
          status: (s.status as { code?: number } | undefined)?.code ?? 0,
          flags: s.flags,
        })),
      };
    };
    const fromProto = summary(decodeOtlpProto(serializeProxySpansProto(spans)!) as never);
    expect(fromProto.spans).toHaveLength(6);
    expect(fromProto).toEqual(summary(decode(serializeProxySpans(spans)) as never));
  });

  it('carry the request attributes, the remote parent, its tracestate and an error status', () => {
    const doc = decode(serializeProxySpans(batch())) as {
      resourceSpans: { scopeSpans: { scope: unknown; spans: Record<string, unknown>[] }[] }[];
    };
    const [ok, attempt, child, long, failed, odd] = doc.resourceSpans[0]!.scopeSpans[0]!.spans;
    const attrs = (s: Record<string, unknown>) =>
      Object.fromEntries(
        (s.attributes as { key: string; value: Record<string, unknown> }[]).map((a) => [
          a.key,
          Object.values(a.value)[0],
        ]),
      );
    expect(doc.resourceSpans[0]!.scopeSpans[0]!.scope).toEqual({
      name: 'nylas-sidecar',
      version: '1.2.3',
    });
    expect(ok).toMatchObject({ name: 'GET /v3/grants', kind: 3, status: { code: 0 }, flags: 257 });
    expect(ok!.parentSpanId).toBeUndefined();
    expect(attrs(ok!)).toEqual({
      'http.request.method': 'GET',
      'url.template': '/v3/grants',
      'server.address': 'api.us.nylas.com',
      'server.port': 443,
      'http.response.status_code': 200,
      'nylas.request_id': 'req-1',
    });
    expect(
      BigInt(ok!.endTimeUnixNano as string) - BigInt(ok!.startTimeUnixNano as string),
    ).toBeGreaterThan(12_300_000n);

    expect(child).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      parentSpanId: 'b7ad6b7169203331',
      traceState: 'vendor=a,other=b',
      status: { code: 2 },
      flags: 769,
    });
    expect(attrs(child!)).toMatchObject({
      'http.response.status_code': 429,
      'http.request.resend_count': 2,
      'nylas.request_id': 'weird "id" \\ with ünïcødé\n',
      'error.type': '429',
      'nylas.error_type': 'api.rate_limit_error',
    });

    // The retried attempt is a child of the request's span, in the same trace.
    expect(attempt).toMatchObject({
      traceId: child!.traceId,
      parentSpanId: child!.spanId,
      status: { code: 2 },
      flags: 257,
    });
    expect(attrs(attempt!)).toMatchObject({
      'http.request.resend_count': 1,
      'http.response.status_code': 503,
      'error.type': '503',
    });
    expect(attrs(long!)['nylas.request_id']).toBe('€'.repeat(3000));
    expect(attrs(failed!)).toMatchObject({ 'error.type': 'upstream_timeout' });
    expect(attrs(failed!)['http.response.status_code']).toBeUndefined();
    expect(attrs(odd!)['nylas.request_id']).toBe('x\u0001\u001f😀\u007f');
  });

  it('are accepted by the protobuf serializer as they are', () => {
    const spans = batch();
    const bytes = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
    // Trace ids are raw bytes in protobuf.
    expect(bytes.includes(Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'))).toBe(true);
    expect(bytes.includes(Buffer.from('api.rate_limit_error'))).toBe(true);
  });

  it('follow the sampler: an unsampled parent, always_off and a zero ratio record nothing', () => {
    const { ended, processor } = collector();
    const t0 = performance.now();
    // The default (decided inline) and the same sampler as an SDK object (called) agree.
    for (const sampler of [
      samplerFromEnv({}),
      samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }),
      new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    ]) {
      const parentBased = createProxySpans(shared, sampler, processor);
      expect(parentBased.start('GET /v3/grants', 'GET', '/v3/grants', remoteParent(0), t0)).toBe(
        undefined,
      );
      expect(
        parentBased.start('GET /v3/grants', 'GET', '/v3/grants', remoteParent(1), t0),
      ).toBeInstanceOf(ProxySpan);
      expect(
        parentBased.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0),
      ).toBeInstanceOf(ProxySpan);
    }
    for (const sampler of [
      new AlwaysOffSampler(),
      samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' }),
      samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }),
    ]) {
      const spans = createProxySpans(shared, sampler, processor);
      expect(spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)).toBe(undefined);
    }
    expect(ended).toHaveLength(0);
  });

  it('end once, however often end() is called', () => {
    const { ended, processor } = collector();
    const spans = createProxySpans(shared, samplerFromEnv({}), processor);
    const s = spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, performance.now())!;
    spans.end(s, performance.now());
    spans.end(s, performance.now() + 5);
    expect(ended).toEqual([s]);
  });

  it('get random, valid, distinct ids', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const span = nextId(8);
      const traceId = nextId(16);
      expect(span).toMatch(/^[0-9a-f]{16}$/);
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span).not.toBe('0'.repeat(16));
      seen.add(span).add(traceId);
    }
    expect(seen.size).toBe(10_000);
  });

  it('keep the bytes of their ids where the protobuf writer copies them from', () => {
    // Many spans, so that the id pool is refilled while earlier spans are still open: a span's
    // bytes must not change under it.
    const hex = (b: Buffer | undefined, at: number, n: number) =>
      b?.subarray(at, at + n).toString('hex');
    const { ended, processor } = collector();
    const spans = createProxySpans(shared, samplerFromEnv({}), processor);
    const t0 = performance.now();
    const open = Array.from({ length: 300 }, () =>
      spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!,
    );
    const child = spans.start('GET /v3/grants', 'GET', '/v3/grants', remoteParent(1), t0)!;
    // A retried attempt is a child in its parent's trace, with the parent's trace id bytes.
    spans.attempt(open[0]!, t0, t0 + 0.5, { resendCount: 0, statusCode: 503, errorType: '503' });
    const attempt = ended.at(-1)!;
    expect(attempt.traceId).toBe(open[0]!.traceId);
    expect(hex(attempt.traceIdBytes, attempt.traceIdAt, 16)).toBe(attempt.traceId);
    for (const s of [...open, child]) spans.end(s, t0 + 1);
    for (const s of open) {
      expect(hex(s.idBytes, s.spanIdAt, 8)).toBe(s.spanId);
      expect(hex(s.traceIdBytes, s.traceIdAt, 16)).toBe(s.traceId);
    }
    // A latency exemplar keeps a span, and so its id pool, for long: each pool is its own 1 KB,
    // not a view of a larger buffer it would keep whole.
    for (const s of open) expect(s.idBytes.buffer.byteLength).toBe(1024);
    // A trace id from the app's traceparent has no bytes here: the writer decodes its hex.
    expect(child.traceIdBytes).toBeUndefined();
    expect(hex(child.idBytes, child.spanIdAt, 8)).toBe(child.spanId);
    const bytes = Buffer.from(serializeProxySpansProto(ended)!);
    expect(bytes.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(ended)!))).toBe(true);
  });

  it('make their ids into hex only when read, once, in both encodings', () => {
    const { ended, processor } = collector();
    const spans = createProxySpans(shared, samplerFromEnv({}), processor);
    const t0 = performance.now();
    const toString = vi.spyOn(Buffer.prototype, 'toString');
    const made = Array.from({ length: 100 }, () => {
      const s = spans.start('GET /v3/grants', 'GET', '/v3/grants', undefined, t0)!;
      s.statusCode = 200;
      spans.end(s, t0 + 1);
      return s;
    });
    try {
      // Started, ended and written as protobuf and as JSON: no id is made into a string.
      const proto = serializeProxySpansProto(ended)!;
      const json = new TextDecoder().decode(serializeProxySpans(ended));
      expect(toString).not.toHaveBeenCalled();
      // Read (as an exemplar on a scrape, or a log line, reads them): made once and kept.
      const s = made[42]!;
      const traceId = s.traceId;
      const spanId = s.spanId;
      expect(toString).toHaveBeenCalledTimes(2);
      expect(s.traceId).toBe(traceId);
      expect(s.spanId).toBe(spanId);
      expect(toString).toHaveBeenCalledTimes(2);
      // What the writers wrote from the bytes is what the strings say.
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(json).toContain(`{"traceId":"${traceId}","spanId":"${spanId}"`);
      const decoded = decodeOtlpProto(proto) as {
        resourceSpans: { scopeSpans: { spans: { traceId: string; spanId: string }[] }[] }[];
      };
      const span = decoded.resourceSpans[0]!.scopeSpans[0]!.spans.find((x) => x.spanId === spanId);
      expect(span?.traceId).toBe(traceId);
    } finally {
      toString.mockRestore();
    }
  });
});
