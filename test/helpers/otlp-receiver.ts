import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decodeOtlpProto } from './otlp-proto.js';

/** A span as received over OTLP/HTTP JSON, with attributes flattened. */
export interface ReceivedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, string | number | boolean>;
  statusCode: number;
  serviceName: string | undefined;
  /** End minus start time, in seconds. */
  durationSeconds: number;
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans: ReceivedSpan[];
  /** Every request body received, decoded, for leak checks. */
  rawBodies: string[];
  /** Spans in each request received, in order. */
  batchSpans: number[];
  /** Content types of the requests received, in order. */
  contentTypes: string[];
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
const flat = (kvs: KeyValue[] | undefined) =>
  Object.fromEntries(
    (kvs ?? []).map((kv) => [
      kv.key,
      kv.value.stringValue ??
        (kv.value.intValue !== undefined ? Number(kv.value.intValue) : undefined) ??
        kv.value.boolValue ??
        kv.value.doubleValue ??
        '',
    ]),
  ) as Record<string, string | number | boolean>;

/**
 * An OTLP/HTTP trace receiver, JSON or protobuf (the latter decoded by protobufjs, see
 * ./otlp-proto.ts), on POST /v1/traces, that keeps every span it is sent.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rawBodies: string[] = [];
  const batchSpans: number[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const text = body.toString('utf8');
      rawBodies.push(text);
      const type = String(req.headers['content-type']);
      contentTypes.push(type);
      const proto = type === 'application/x-protobuf';
      if (!proto && !type.includes('json')) {
        res.writeHead(415).end();
        return;
      }
      const doc = (proto ? decodeOtlpProto(body) : JSON.parse(text)) as {
        resourceSpans?: {
          resource?: { attributes?: KeyValue[] };
          scopeSpans?: {
            spans?: {
              name: string;
              kind: number;
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              startTimeUnixNano: string | number;
              endTimeUnixNano: string | number;
              attributes?: KeyValue[];
              status?: { code?: number };
            }[];
          }[];
        }[];
      };
      const before = spans.length;
      for (const rs of doc.resourceSpans ?? []) {
        const serviceName = flat(rs.resource?.attributes)['service.name'];
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              name: s.name,
              kind: s.kind,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              attributes: flat(s.attributes),
              statusCode: s.status?.code ?? 0,
              durationSeconds:
                Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e9,
              serviceName: typeof serviceName === 'string' ? serviceName : undefined,
            });
      }
      batchSpans.push(spans.length - before);
      // An empty ExportTraceServiceResponse is no bytes at all in protobuf.
      if (proto) res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    rawBodies,
    batchSpans,
    contentTypes,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
