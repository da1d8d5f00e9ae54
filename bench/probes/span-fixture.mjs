// The span probes' shared fixture: the tracing modules built in a checkout, and the resource,
// scope and route their spans carry. Not a probe itself.
import { createRequire } from 'node:module';

/** The built tracing modules of the checkout at `root`, with one route's span settings. */
export async function spanFixture(root) {
  const require = createRequire(`${root}/package.json`);
  const { resourceFromAttributes } = require('@opentelemetry/resources');
  const D = `${root}/dist/src/tracing/`;
  return {
    ...(await import(`${D}proxy-spans.js`)),
    ...(await import(`${D}otlp-json.js`)),
    ...(await import(`${D}otlp-proto.js`)),
    ...(await import(`${D}span-batcher.js`)),
    shared: {
      serverAddress: '127.0.0.1',
      serverPort: 4010,
      resource: resourceFromAttributes({ 'service.name': 'nylas-sidecar' }),
      scope: { name: 'nylas-sidecar', version: '1' },
    },
    ROUTE: '/v3/grants/{grant_id}/messages',
  };
}
