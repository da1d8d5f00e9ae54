import { randomUUID } from 'node:crypto';
import {
  JsonTraceSerializer,
  type IExportTraceServiceResponse,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { msToHrTime, ProxySpan, type ProxySpanShared } from './proxy-spans.js';

/*
 * OTLP/JSON for batches of proxy spans, written by template.
 *
 * The library's JsonTraceSerializer builds an object per span, per attribute and per value, then
 * JSON.stringify makes one string of the whole batch and TextEncoder encodes it: about 6 µs a span
 * here. A ProxySpan has a fixed shape, so its JSON is a handful of string concatenations, turned
 * into bytes span by span (under 1 µs a span). The output is the same document the
 * library writes (test/unit/otlp-json.test.ts compares them); the resource and scope part is
 * produced by the library itself, once per process. A batch holding any other kind of span goes
 * to the library's serializer unchanged.
 */

interface Frame {
  /** `{"resourceSpans":[{"resource":…,"scopeSpans":[{"scope":…,"spans":[` */
  head: string;
  /** `]…}]…}]}` */
  tail: string;
  /** The attributes every span has after method and route. */
  server: string;
}

const frames = new WeakMap<ProxySpanShared, Frame>();
const decoder = new TextDecoder();

interface ResourceSpansJson {
  scopeSpans: { spans: unknown }[];
}

function frameFor(span: ProxySpan): Frame {
  let frame = frames.get(span.shared);
  if (frame) return frame;
  // Let the library encode the resource and scope (attributes of any type, schema URLs), with the
  // span list replaced by a marker that cannot occur in them.
  const doc = JSON.parse(decoder.decode(JsonTraceSerializer.serializeRequest([span]))) as {
    resourceSpans: ResourceSpansJson[];
  };
  const marker = `\u0000spans-${randomUUID()}`;
  doc.resourceSpans[0]!.scopeSpans[0]!.spans = marker;
  const [head, tail] = JSON.stringify(doc).split(JSON.stringify(marker)) as [string, string];
  frame = {
    head: head + '[',
    tail: ']' + tail,
    server:
      `{"key":"server.address","value":{"stringValue":${JSON.stringify(span.shared.serverAddress)}}},` +
      `{"key":"server.port","value":{"intValue":${span.shared.serverPort}}}`,
  };
  frames.set(span.shared, frame);
  return frame;
}

/** Epoch milliseconds as the decimal string of nanoseconds OTLP/JSON uses. */
function nanos(ms: number): string {
  const [s, ns] = msToHrTime(ms);
  return s === 0 ? String(ns) : s + String(ns).padStart(9, '0');
}

function stringAttr(key: string, value: string): string {
  return `,{"key":"${key}","value":{"stringValue":${JSON.stringify(value)}}}`;
}

function encodeSpan(s: ProxySpan, server: string): string {
  let attrs =
    `{"key":"http.request.method","value":{"stringValue":"${s.method}"}},` +
    `{"key":"url.template","value":{"stringValue":${JSON.stringify(s.route)}}},` +
    server;
  if (s.statusCode)
    attrs += `,{"key":"http.response.status_code","value":{"intValue":${s.statusCode}}}`;
  if (s.resendCount)
    attrs += `,{"key":"http.request.resend_count","value":{"intValue":${s.resendCount}}}`;
  if (s.requestId !== undefined) attrs += stringAttr('nylas.request_id', s.requestId);
  if (s.errorType !== undefined) attrs += stringAttr('error.type', s.errorType);
  if (s.nylasErrorType !== undefined) attrs += stringAttr('nylas.error_type', s.nylasErrorType);
  const traceState = s.traceState?.serialize();
  return (
    `{"traceId":"${s.traceId}","spanId":"${s.spanId}"` +
    (s.parentSpanId === undefined ? '' : `,"parentSpanId":"${s.parentSpanId}"`) +
    (traceState === undefined ? '' : `,"traceState":${JSON.stringify(traceState)}`) +
    `,"name":${JSON.stringify(s.name)},"kind":3` +
    `,"startTimeUnixNano":"${nanos(s.startWallMs)}","endTimeUnixNano":"${nanos(s.endWallMs)}"` +
    `,"attributes":[${attrs}],"droppedAttributesCount":0,"events":[],"droppedEventsCount":0` +
    `,"status":{"code":${s.errorType === undefined ? 0 : 2}},"links":[],"droppedLinksCount":0` +
    // W3C flags (sampled) | has-is-remote | is-remote
    `,"flags":${s.parentRemote ? 0x301 : 0x101}}`
  );
}

/** The OTLP/JSON request for `spans`, by template when they are all proxy spans of one process. */
export function serializeProxySpans(spans: ReadableSpan[]): Uint8Array | undefined {
  const first = spans[0];
  if (!(first instanceof ProxySpan)) return JsonTraceSerializer.serializeRequest(spans);
  for (const s of spans) {
    if (!(s instanceof ProxySpan) || s.shared !== first.shared)
      return JsonTraceSerializer.serializeRequest(spans);
  }
  const frame = frameFor(first);
  // Each span's JSON is written straight into one buffer (a native UTF-8 write per span). Building
  // the document as one string first, as JSON.stringify does, cost several times more here: a
  // string of hundreds of kilobytes lands in V8's large-object space and is encoded whole; and a
  // Buffer per span then a concat doubled the copying.
  let buf = Buffer.allocUnsafe(frame.head.length * 3 + spans.length * 1024 + frame.tail.length * 3);
  let off = buf.write(frame.head, 0, 'utf8');
  for (let i = 0; i < spans.length; i++) {
    const json = (i > 0 ? ',' : '') + encodeSpan(spans[i] as ProxySpan, frame.server);
    // 3 bytes per UTF-16 unit is the most UTF-8 can take; grow before a write could truncate.
    if (off + json.length * 3 + frame.tail.length * 3 > buf.length) {
      const bigger = Buffer.allocUnsafe(
        Math.max(buf.length * 2, off + (json.length + frame.tail.length) * 3),
      );
      buf.copy(bigger, 0, 0, off);
      buf = bigger;
    }
    off += buf.write(json, off, 'utf8');
  }
  off += buf.write(frame.tail, off, 'utf8');
  return buf.subarray(0, off);
}

export const proxySpanJsonSerializer: ISerializer<ReadableSpan[], IExportTraceServiceResponse> = {
  serializeRequest: serializeProxySpans,
  deserializeResponse: (data) => JsonTraceSerializer.deserializeResponse(data),
};
