// The OTLP trace serializers, imported from their own files in @opentelemetry/otlp-transformer:
// the package's index also loads its metrics and logs serializers, and with them the whole
// metrics and logs SDKs, which the sidecar never uses. The version is pinned exactly in
// package.json; test/integration/role-modules.test.ts fails if a bump moves these files.
export { JsonTraceSerializer } from '@opentelemetry/otlp-transformer/build/src/trace/json/index.js';
export { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer/build/src/trace/protobuf/index.js';
