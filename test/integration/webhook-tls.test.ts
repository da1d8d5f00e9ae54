// The webhook listener on TLS (SIDECAR_WEBHOOK_WEB_CONFIG), on real sockets: Nylas's challenge
// answered over HTTPS with no credential asked, and a renewed certificate picked up on reload.
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/index.js';
import { createWebhookListener, type WebhookListener } from '../../src/webhooks/index.js';
import { httpsGet } from '../helpers/https-get.js';
import { TEST_ENV } from '../helpers/sidecar.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';

let pki: TestPki;
let renewed: TestPki;
beforeAll(() => {
  pki = makeTestPki();
  renewed = makeTestPki();
});

const stops: WebhookListener[] = [];
afterEach(async () => {
  while (stops.length > 0) await stops.pop()!.stop(500);
});

function tlsFile(p: TestPki, file: string) {
  writeFileSync(
    file,
    `tls_server_config:\n  cert_file: ${p.serverCert}\n  key_file: ${p.serverKey}\n  min_version: TLS12\n`,
  );
}

describe('webhook listener with TLS', () => {
  it('answers the challenge over HTTPS, refuses plain HTTP, and takes a renewed certificate on reload', async () => {
    const file = join(pki.dir, 'webhook-web.yml');
    tlsFile(pki, file);
    const config = loadConfig({
      env: {
        ...TEST_ENV,
        SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
        SIDECAR_WEBHOOK_FORWARD_URL: 'http://127.0.0.1:1/hooks',
        SIDECAR_WEBHOOK_WEB_CONFIG: file,
      },
    });
    const lines: string[] = [];
    const listener = createWebhookListener({
      config,
      metrics: createMetrics({
        latencyBuckets: config.proxy.latencyBuckets,
        version: 'test',
        defaultMetrics: false,
      }),
      logger: createLogger({
        level: 'info',
        destination: new Writable({
          write(c: Buffer, _e, cb) {
            lines.push(c.toString());
            cb();
          },
        }),
      }),
      tracer: trace.getTracer('test'),
      webConfigWatchMs: 60_000,
    });
    stops.push(listener);
    expect(listener.tls).toBe(true);
    const { port } = await listener.start();
    const url = `https://127.0.0.1:${port}/webhooks?challenge=abc123`;

    const r = await httpsGet(url, { ca: pki.pem(pki.caCert) });
    expect([r.status, r.body]).toEqual([200, 'abc123']);

    const plain = await new Promise<number | string>((resolve) => {
      const req = httpRequest(url.replace('https:', 'http:'), (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      req.end();
    });
    expect(typeof plain).toBe('string');

    tlsFile(renewed, file);
    listener.reloadWebConfig();
    const after = await httpsGet(url, { ca: renewed.pem(renewed.caCert) });
    expect([after.status, after.body]).toEqual([200, 'abc123']);
    await expect(httpsGet(url, { ca: pki.pem(pki.caCert) })).rejects.toThrow();
    expect(lines.join('')).toContain('"event":"web_config_reloaded"');
  });
});
