import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { scrape, type Sample } from '../helpers/metrics.js';
import {
  fits,
  identifierValues,
  recordSdkRequests,
  sdkSourceTemplates,
  shapeOf,
  type SdkRequest,
} from '../helpers/sdk-requests.js';

/** An upstream that answers every request 200 with an empty list. */
async function startAnyUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'up' });
      res.end('{"request_id":"up","data":[]}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const counts = (samples: Sample[]) => {
  const m = new Map<string, number>();
  for (const s of samples)
    if (s.name === 'nylas_api_requests_total') {
      const k = `${s.labels.method} ${s.labels.route}`;
      m.set(k, (m.get(k) ?? 0) + s.value);
    }
  return m;
};

/**
 * Sends each request through a fresh sidecar, in the given order, and returns the route label
 * each one was counted under (found by the counter that moved), plus the last scrape.
 */
async function routesThroughProxy(
  upstreamUrl: string,
  requests: SdkRequest[],
): Promise<{ routes: Map<string, string>; samples: Sample[]; sidecar: TestSidecar }> {
  const sidecar = await startTestSidecar({ NYLAS_API_URI: upstreamUrl });
  const routes = new Map<string, string>();
  let before = counts(await scrape(sidecar.urls.admin));
  let samples: Sample[] = [];
  for (const r of requests) {
    const res = await fetch(`${sidecar.urls.proxy}${r.url}`, {
      method: r.method,
      headers: { authorization: 'Bearer nyk_route_key', 'content-type': 'application/json' },
      body: r.method === 'GET' || r.method === 'HEAD' ? undefined : '{}',
    });
    await res.arrayBuffer();
    samples = await scrape(sidecar.urls.admin);
    const after = counts(samples);
    const moved = [...after].filter(([k, v]) => v !== (before.get(k) ?? 0)).map(([k]) => k);
    expect(moved, `${r.call}: ${r.method} ${r.url}`).toHaveLength(1);
    routes.set(`${r.method} ${r.url}`, moved[0]!.slice(r.method.length + 1));
    before = after;
  }
  return { routes, samples, sidecar };
}

describe('every request the pinned nylas SDK can send is labelled by its route template', () => {
  let requests: SdkRequest[];
  let upstream: Awaited<ReturnType<typeof startAnyUpstream>>;
  const sidecars: TestSidecar[] = [];

  beforeAll(async () => {
    const all = await recordSdkRequests();
    const unique = new Map<string, SdkRequest>();
    for (const r of all)
      if (!unique.has(`${r.method} ${r.url}`)) unique.set(`${r.method} ${r.url}`, r);
    requests = [...unique.values()];
    upstream = await startAnyUpstream();
  });
  afterAll(async () => {
    for (const s of sidecars) await s.stop();
    await upstream?.close();
  });

  it('drives the client into every path template written in the SDK', () => {
    const templates = sdkSourceTemplates();
    // Enough that a broken walk of the client (or of the SDK's files) cannot pass.
    expect(templates.length).toBeGreaterThan(60);
    const unreached = templates.filter((t) => !requests.some((r) => fits(t, r.url.split('?')[0]!)));
    expect(unreached).toEqual([]);
    expect(new Set(requests.map((r) => r.call)).size).toBeGreaterThan(120);
  });

  it('names every (method, template) in either order, with the SDK template’s shape and no identifier in any label', async () => {
    const forward = await routesThroughProxy(upstream.url, requests);
    sidecars.push(forward.sidecar);
    const backward = await routesThroughProxy(upstream.url, [...requests].reverse());
    sidecars.push(backward.sidecar);

    const templates = sdkSourceTemplates();
    const wrong: string[] = [];
    for (const r of requests) {
      const key = `${r.method} ${r.url}`;
      const route = forward.routes.get(key)!;
      const path = r.url.split('?')[0]!;
      // The most literal SDK template the path fits is the one that built it.
      const sdk = templates
        .filter((t) => fits(t, path))
        .sort((a, b) => (b.match(/\{/g)?.length ?? 0) - (a.match(/\{/g)?.length ?? 0))
        .at(-1);
      if (route === 'other' || sdk === undefined || shapeOf(route) !== shapeOf(sdk))
        wrong.push(`${r.call}: ${r.method} ${sdk ?? path} -> ${route}`);
    }
    expect(wrong).toEqual([]);
    // The arrival order changes nothing.
    expect(Object.fromEntries(backward.routes)).toEqual(Object.fromEntries(forward.routes));

    // No identifier, raw or percent-encoded, in any label value of either scrape.
    const ids = identifierValues().flatMap((v) => [v, encodeURIComponent(v)]);
    for (const samples of [forward.samples, backward.samples]) {
      const leaked = samples.flatMap((s) =>
        Object.values(s.labels).filter((v) => ids.some((id) => v.includes(id))),
      );
      expect(leaked).toEqual([]);
    }
  });
});
