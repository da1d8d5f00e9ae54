import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NylasApiError } from 'nylas';
import { Nylas, type NylasClient } from '../../src/demo/nylas-sdk.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { scrape, total } from '../helpers/metrics.js';

const API_KEY = 'nyk_canary_api_key_d41d8cd98f00b204';

/** Runs a call and returns what the SDK gave the app: the value, or the error's visible fields. */
async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    const value = (await call()) as { headers?: Record<string, string> };
    // The Date header is the only one allowed to differ (the two calls may straddle a second).
    if (value?.headers) delete value.headers.date;
    return { ok: JSON.parse(JSON.stringify(value)) as unknown };
  } catch (err) {
    if (err instanceof NylasApiError)
      return {
        apiError: {
          type: err.type,
          message: err.message,
          statusCode: err.statusCode,
          requestId: err.requestId,
          providerError: err.providerError as unknown,
        },
      };
    return { error: (err as Error).message.slice(0, 60) };
  }
}

describe('the official nylas SDK through the proxy', () => {
  let upstream: FakeUpstream;
  let sidecar: TestSidecar;
  let direct: NylasClient;
  let proxied: NylasClient;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    // Latency by route too, so that one route's latency can be checked below.
    sidecar = await startTestSidecar({
      NYLAS_API_URI: upstream.url,
      SIDECAR_LATENCY_BY_ROUTE: 'true',
    });
    direct = new Nylas({
      apiKey: API_KEY,
      apiUri: upstream.url,
      headers: { 'x-test-client': 'direct' },
    });
    proxied = new Nylas({ apiKey: API_KEY, apiUri: sidecar.urls.proxy });
  });
  afterAll(async () => {
    await sidecar?.stop();
    await upstream?.close();
  });

  const calls: [string, (n: NylasClient) => Promise<unknown>][] = [
    ['grants list', (n) => n.grants.list()],
    ['messages list', (n) => n.messages.list({ identifier: 'grant-1' })],
    [
      'message find by email grant',
      (n) => n.messages.find({ identifier: 'user@example.com', messageId: 'msg-1' }),
    ],
    [
      'send',
      (n) =>
        n.messages.send({
          identifier: 'grant-1',
          requestBody: { to: [{ email: 'b@example.com' }], subject: 'hi', body: 'hello' },
        }),
    ],
    ['404', (n) => n.messages.find({ identifier: 'grant-1', messageId: 'missing' })],
    [
      '429 from the provider',
      (n) =>
        n.threads.list({ identifier: 'grant-1', queryParams: { fault: 'provider429' } as never }),
    ],
    [
      '429 from Nylas',
      (n) => n.threads.list({ identifier: 'grant-1', queryParams: { fault: 'nylas429' } as never }),
    ],
    [
      'non-JSON 502',
      (n) => n.threads.list({ identifier: 'grant-1', queryParams: { fault: 'html502' } as never }),
    ],
  ];

  it.each(calls)(
    'the app sees the same result as talking to Nylas directly: %s',
    async (_name, call) => {
      const viaUpstream = await outcome(() => call(direct));
      const viaSidecar = await outcome(() => call(proxied));
      expect(viaSidecar).toEqual(viaUpstream);
    },
  );

  it('iterates cursor pages through the proxy', async () => {
    const ids: string[] = [];
    for await (const page of proxied.messages.list({ identifier: 'grant-1' })) {
      ids.push(...page.data.map((m) => m.id));
    }
    expect(ids).toEqual(['msg-1', 'msg-2']);
  });

  it('downloads an attachment byte for byte', async () => {
    const viaSidecar = await proxied.attachments.downloadBytes({
      identifier: 'grant-1',
      attachmentId: 'att-1',
      queryParams: { messageId: 'msg-1', size: 300_000 } as never,
    });
    expect(viaSidecar.length).toBe(300_000);
    expect(viaSidecar.every((b) => b === 7)).toBe(true);
  });

  it('counts every call under its route template, code and Nylas error type', async () => {
    const samples = await scrape(sidecar.urls.admin);
    const req = (labels: Record<string, string>) =>
      total(samples, 'nylas_api_requests_total', labels);
    expect(
      req({ method: 'GET', route: '/v3/grants', code: '200', error_type: '' }),
    ).toBeGreaterThanOrEqual(1);
    expect(req({ route: '/v3/grants/{grant_id}/messages', code: '200' })).toBeGreaterThanOrEqual(3);
    expect(req({ route: '/v3/grants/{grant_id}/messages/{message_id}', code: '200' })).toBe(1);
    expect(req({ route: '/v3/grants/{grant_id}/messages/send', method: 'POST', code: '200' })).toBe(
      1,
    );
    expect(
      req({
        route: '/v3/grants/{grant_id}/messages/{message_id}',
        code: '404',
        error_type: 'not_found_error',
      }),
    ).toBe(1);
    expect(
      req({ route: '/v3/grants/{grant_id}/threads', code: '429', error_type: 'rate_limit_error' }),
    ).toBe(1);
    expect(
      req({
        route: '/v3/grants/{grant_id}/threads',
        code: '429',
        error_type: 'nylas_rate_limit_exceeded',
      }),
    ).toBe(1);
    expect(
      req({ route: '/v3/grants/{grant_id}/threads', code: '502', error_type: 'unparsed' }),
    ).toBe(1);
    expect(
      req({ route: '/v3/grants/{grant_id}/attachments/{attachment_id}/download', code: '200' }),
    ).toBe(1);
    expect(
      total(samples, 'nylas_api_rate_limited_total', {
        route: '/v3/grants/{grant_id}/threads',
        scope: 'provider',
      }),
    ).toBe(1);
    expect(
      total(samples, 'nylas_api_rate_limited_total', {
        route: '/v3/grants/{grant_id}/threads',
        scope: 'nylas',
      }),
    ).toBe(1);
    // The first page of the message list carries Nylas-Provider-Request-Count: 2 and
    // Nylas-Gmail-Quota-Usage: 5; later pages carry neither.
    const firstPages = upstream.seen.filter(
      (r) =>
        r.headers['x-test-client'] === undefined && /\/messages(\?(?!.*page_token)|$)/.test(r.url),
    ).length;
    expect(firstPages).toBeGreaterThanOrEqual(2);
    expect(
      total(samples, 'nylas_api_provider_requests_total', {
        route: '/v3/grants/{grant_id}/messages',
      }),
    ).toBe(2 * firstPages);
    expect(
      total(samples, 'nylas_api_gmail_quota_units_total', {
        route: '/v3/grants/{grant_id}/messages',
      }),
    ).toBe(5 * firstPages);
    expect(
      total(samples, 'nylas_api_response_bytes_total', {
        route: '/v3/grants/{grant_id}/attachments/{attachment_id}/download',
      }),
    ).toBe(300_000);
    expect(
      total(samples, 'nylas_api_request_duration_seconds_count', {
        route: '/v3/grants/{grant_id}/threads',
        status_class: '4xx',
      }),
    ).toBe(2);
    expect(total(samples, 'nylas_api_inflight_requests')).toBe(0);
  });

  it('logs one line per failed call with route, code, error type and Nylas request id', () => {
    const failures = sidecar.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'upstream_error');
    const notFound = failures.filter((l) => l.code === 404);
    expect(notFound).toHaveLength(1);
    expect(notFound[0]).toMatchObject({
      route: '/v3/grants/{grant_id}/messages/{message_id}',
      error_type: 'not_found_error',
      nylas_request_id: 'req-404',
    });
    expect(failures.filter((l) => l.code === 502)).toHaveLength(1);
  });

  it('never writes the API key into logs or metrics', async () => {
    const metricsText = await (await fetch(`${sidecar.urls.admin}/metrics`)).text();
    expect(metricsText).not.toContain(API_KEY);
    expect(sidecar.logs.join('\n')).not.toContain(API_KEY);
    // ...while the key did reach the upstream, unchanged.
    expect(upstream.seen.some((r) => r.headers.authorization === `Bearer ${API_KEY}`)).toBe(true);
  });
});
