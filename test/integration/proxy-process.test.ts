import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { Nylas } from '../../src/demo/nylas-sdk.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/process.js';
import { parseMetrics, total } from '../helpers/metrics.js';

const CANARY = {
  apiKey: 'nyk_v0_CANARYapikey7f3a9c1e5b2d',
  accessToken: 'ya29.CANARYaccesstoken4b8e2f6a',
  webhookSecret: 'CANARYwebhooksecret9d1c3e5f7a',
  oauthCode: 'CANARYoauthcode2e4f6a8c0b',
  clientSecret: 'CANARYclientsecret1a3c5e7b9d',
};

const APP_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const APP_SPAN = '00f067aa0ba902b7';

async function metricsText(adminUrl: string, accept?: string): Promise<string> {
  const res = await fetch(`${adminUrl}/metrics`, accept ? { headers: { accept } } : {});
  return res.text();
}

describe('the built sidecar process: spans, secrets, exposition', () => {
  let upstream: FakeUpstream;
  let otlp: OtlpReceiver;
  let proc: SidecarProcess;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    otlp = await startOtlpReceiver();
    proc = await startSidecarProcess({
      NYLAS_API_URI: upstream.url,
      NYLAS_API_KEY: CANARY.apiKey,
      NYLAS_CLIENT_ID: 'client-id',
      NYLAS_CLIENT_SECRET: CANARY.clientSecret,
      NYLAS_WEBHOOK_SECRET: CANARY.webhookSecret,
      SIDECAR_LOG_LEVEL: 'debug',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_SERVICE_NAME: 'sidecar-under-test',
    });
  });
  afterAll(async () => {
    await proc?.stop();
    await otlp?.close();
    await upstream?.close();
  });

  it('exports a CLIENT span per request that continues the app traceparent', async () => {
    const res = await fetch(
      `${proc.proxyUrl}/v3/grants/user%40example.com/messages?limit=5&page_token=abc`,
      {
        headers: {
          traceparent: `00-${APP_TRACE}-${APP_SPAN}-01`,
          authorization: `Bearer ${CANARY.accessToken}`,
        },
      },
    );
    expect(res.status).toBe(200);
    await fetch(`${proc.proxyUrl}/v3/grants/g1/messages/missing`, {
      headers: { traceparent: `00-${APP_TRACE}-${APP_SPAN}-01` },
    });
    await expect.poll(() => otlp.spans.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const ok = otlp.spans.find((s) => s.name === 'GET /v3/grants/{grant_id}/messages')!;
    expect(ok).toMatchObject({
      kind: 3, // SPAN_KIND_CLIENT
      traceId: APP_TRACE,
      parentSpanId: APP_SPAN,
      serviceName: 'sidecar-under-test',
    });
    expect(ok.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.template': '/v3/grants/{grant_id}/messages',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(upstream.url).port),
      'http.response.status_code': 200,
      'nylas.request_id': 'req-list-1',
    });
    const notFound = otlp.spans.find(
      (s) => s.name === 'GET /v3/grants/{grant_id}/messages/{message_id}',
    )!;
    expect(notFound.attributes).toMatchObject({
      'http.response.status_code': 404,
      'error.type': '404',
      'nylas.error_type': 'not_found_error',
      'nylas.request_id': 'req-404',
    });
    expect(notFound.statusCode).toBe(2); // STATUS_CODE_ERROR
  });

  it('puts trace ids on latency exemplars in OpenMetrics only', async () => {
    const om = await metricsText(proc.adminUrl, 'application/openmetrics-text; version=1.0.0');
    expect(om).toMatch(
      /nylas_api_request_duration_seconds_bucket\{[^}]*status_class="2xx"[^}]*\} \d+ # \{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"/,
    );
    expect(om.trimEnd().endsWith('# EOF')).toBe(true);
    const text = await metricsText(proc.adminUrl);
    expect(text).not.toContain('# {trace_id');
    // Counters keep their _total in the Prometheus text format, even after an OpenMetrics scrape.
    expect(text).toMatch(/^nylas_api_requests_total\{/m);
  });

  it('sends no canary secret to any log line, metric or span', async () => {
    const nylas = new Nylas({ apiKey: CANARY.apiKey, apiUri: proc.proxyUrl });
    await nylas.grants.list();
    await nylas.messages.list({
      identifier: 'g1',
      queryParams: { searchQueryNative: CANARY.oauthCode },
    });
    await fetch(`${proc.proxyUrl}/v3/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        code: CANARY.oauthCode,
        client_secret: CANARY.clientSecret,
        grant_type: 'authorization_code',
      }),
    });
    await fetch(
      `${proc.proxyUrl}/v3/connect/auth?code=${CANARY.oauthCode}&access_token=${CANARY.accessToken}`,
    );
    await fetch(`${proc.proxyUrl}/v3/webhooks/rotate-secret/w1?secret=${CANARY.webhookSecret}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${CANARY.apiKey}`,
        'x-nylas-signature': CANARY.webhookSecret,
      },
    });
    await fetch(`${proc.proxyUrl}/a/client-id/accounts`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${CANARY.clientSecret}:`).toString('base64')}`,
      },
    });
    await fetch(`${proc.proxyUrl}/v3/grants/g1/threads?fault=html502&token=${CANARY.accessToken}`, {
      headers: { authorization: `Bearer ${CANARY.accessToken}` },
    });
    await expect.poll(() => otlp.spans.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(9);
    const everything = [
      proc.stdout.join('\n'),
      proc.stderr.join('\n'),
      await metricsText(proc.adminUrl),
      await metricsText(proc.adminUrl, 'application/openmetrics-text'),
      otlp.rawBodies.join('\n'),
    ].join('\n');
    for (const [name, value] of Object.entries(CANARY)) {
      expect(everything.includes(value), `${name} leaked`).toBe(false);
      expect(
        everything.includes(Buffer.from(`${value}:`).toString('base64')),
        `${name} leaked in base64`,
      ).toBe(false);
    }
    // The failed calls were logged, just without secrets.
    expect(proc.stdout.some((l) => l.includes('"upstream_error"'))).toBe(true);
  });

  it('produces an exposition promtool accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidecar-promtool-'));
    const file = join(dir, 'metrics.txt');
    return metricsText(proc.adminUrl).then((text) => {
      writeFileSync(file, text);
      // promtool reads the exposition on stdin; exit status 0 means no problems were found.
      const out = execFileSync('sh', ['-c', `promtool check metrics < ${file} 2>&1`], {
        encoding: 'utf8',
      });
      expect(out.trim()).toBe('');
      expect(parseMetrics(text).some((s) => s.name === 'nylas_sidecar_build_info')).toBe(true);
    });
  });
});

describe('the built sidecar process: streaming and shutdown', () => {
  let upstream: FakeUpstream;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
  });

  /** Resident memory of the sidecar process as it reports it on /metrics. */
  async function rss(adminUrl: string): Promise<number> {
    return total(parseMetrics(await metricsText(adminUrl)), 'process_resident_memory_bytes');
  }

  it('streams 25 MB and 100 MB downloads and multipart uploads without memory growing with body size', async () => {
    const proc = await startSidecarProcess({ NYLAS_API_URI: upstream.url, NYLAS_API_KEY: 'k' });
    try {
      /** Peak RSS growth of the sidecar (MB) while `fn` runs, sampled from its /metrics. */
      const peakGrowth = async (fn: () => Promise<void>): Promise<number> => {
        const baseline = await rss(proc.adminUrl);
        let peak = baseline;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            peak = Math.max(peak, await rss(proc.adminUrl).catch(() => 0));
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
        await fn();
        sampling = false;
        await sampler;
        peak = Math.max(peak, await rss(proc.adminUrl));
        return (peak - baseline) / 1024 / 1024;
      };
      const MB = 1024 * 1024;
      const download = (size: number) =>
        new Promise<void>((resolve, reject) => {
          // The first chunk reaches the app while the upstream still holds the rest.
          const req = request(
            `${proc.proxyUrl}/v3/grants/g/attachments/a/download?size=${size}&gate=1`,
            (res) => {
              let n = 0;
              res.once('data', () => upstream.release());
              res.on('data', (c: Buffer) => (n += c.length));
              res.on('end', () =>
                n === size ? resolve() : reject(new Error(`got ${n} of ${size} bytes`)),
              );
            },
          );
          req.on('error', reject);
          req.end();
        });
      // The official SDK switches to multipart/form-data above 3 MB.
      const nylas = new Nylas({ apiKey: 'k', apiUri: proc.proxyUrl });
      const upload = async (size: number) => {
        const sent = await nylas.messages.send({
          identifier: 'g',
          requestBody: {
            to: [{ email: 'b@example.com' }],
            subject: 'big',
            body: 'see attachment',
            attachments: [
              {
                filename: 'big.bin',
                contentType: 'application/octet-stream',
                size,
                content: Buffer.alloc(size, 1),
              },
            ],
          },
        });
        expect((sent.data as unknown as { bodyBytes: number }).bodyBytes).toBeGreaterThan(size);
        expect(upstream.seen.at(-1)!.headers['content-type']).toMatch(/^multipart\/form-data/);
      };

      await download(MB); // warm-up
      const down25 = await peakGrowth(() => download(25 * MB));
      const down100 = await peakGrowth(() => download(100 * MB));
      const up25 = await peakGrowth(() => upload(25 * MB));
      const up100 = await peakGrowth(() => upload(100 * MB));
      process.stdout.write(
        `[streaming] sidecar peak RSS growth (MB): download 25 MB ${down25.toFixed(1)}, 100 MB ${down100.toFixed(1)}; multipart upload 25 MB ${up25.toFixed(1)}, 100 MB ${up100.toFixed(1)}\n`,
      );
      // A buffering proxy grows by at least the body size (100 MB); a streaming one by socket
      // buffers and garbage not yet collected, which does not scale with the body.
      expect(down100).toBeLessThan(64);
      expect(up100).toBeLessThan(64);
    } finally {
      await proc.stop();
    }
  });

  it('lets an in-flight request finish on SIGTERM, turns /readyz to 503, then exits 0', async () => {
    const proc = await startSidecarProcess({
      NYLAS_API_URI: upstream.url,
      NYLAS_API_KEY: 'k',
      SIDECAR_SHUTDOWN_GRACE_MS: '10000',
    });
    expect((await fetch(`${proc.adminUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${proc.adminUrl}/healthz`)).status).toBe(200);
    const slow = fetch(`${proc.proxyUrl}/v3/grants/g/threads?fault=slow&ms=1500`).then(
      async (r) => ({
        status: r.status,
        body: await r.text(),
      }),
    );
    await expect.poll(() => upstream.open(), { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    proc.child.kill('SIGTERM');
    await expect
      .poll(
        async () => (await fetch(`${proc.adminUrl}/readyz`).catch(() => ({ status: 0 }))).status,
        { timeout: 5000 },
      )
      .toBe(503);
    // Still alive while draining; no longer accepting proxied requests.
    expect((await fetch(`${proc.adminUrl}/healthz`)).status).toBe(200);
    await expect(fetch(`${proc.proxyUrl}/v3/grants`)).rejects.toThrow();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.body).toContain('req-slow');
    expect(await proc.exited).toBe(0);
    expect(proc.stdout.some((l) => l.includes('"event":"stopped"'))).toBe(true);
  });
});
