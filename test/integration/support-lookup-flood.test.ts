import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const API_KEY = 'lookup-flood-api-key-51c2';

let sim: Simulator;
let relay: Server;
let sc: TestSidecar;
/** Paths of the requests the sidecar sent to "Nylas", in order. */
const seen: string[] = [];
/** Grant lookups open at the relay now, and the most at once. */
const open = { now: 0, max: 0 };

beforeAll(async () => {
  sim = createSimulator({ apiKey: API_KEY, grants: 20 });
  const simUrl = new URL(await sim.start());
  // A pass-through in front of the simulator that records what reaches Nylas.
  relay = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (/^\/v3\/grants\/[^/?]+$/.test(req.url ?? '')) {
      open.max = Math.max(open.max, ++open.now);
      res.on('close', () => open.now--);
    }
    const up = request(
      {
        host: simUrl.hostname,
        port: simUrl.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  sc = await startTestSidecar({
    NYLAS_API_URI: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
    NYLAS_STATUS_PAGE_URL: sim.url,
    NYLAS_API_KEY: API_KEY,
  });
});

afterAll(async () => {
  await sc?.stop();
  relay?.closeAllConnections();
  await new Promise((r) => relay?.close(r));
  await sim?.stop();
});

const unknownId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const lookups = () => seen.filter((s) => /^GET \/v3\/grants\/[^/?]+$/.test(s));

describe('GET /support/{grant_id} under a flood of unknown ids', () => {
  it('asks Nylas a bounded number of times, answers the rest busy at once, and the grants poll is not held up', async () => {
    const finished: string[] = [];
    const started = performance.now();
    let lastBusyAt = started;
    const flood = Array.from({ length: 200 }, async (_, i) => {
      const res = await fetch(`${sc.urls.admin}/support/${unknownId(i)}`);
      if (res.status === 503) lastBusyAt = Math.max(lastBusyAt, performance.now());
      const answer = {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        text: await res.text(),
      };
      if (res.status === 404) finished.push('lookup');
      return answer;
    });
    // Started while the flood waits on the pace: it must not queue behind the lookups.
    const poll = sc.sidecar.pollers.runOnce('grants').then((r) => {
      finished.push('poll');
      return r;
    });
    const answers = await Promise.all(flood);
    expect(await poll).toBe('success');

    const busy = answers.filter((a) => a.status === 503);
    const notFound = answers.filter((a) => a.status === 404);
    expect(busy.length + notFound.length).toBe(200);
    // Four lookups at once, started 500 ms apart (2/s, a fifth of the grants pace): while the
    // flood arrives, four are let through, then one more for each that ends (the first at once,
    // then one per 500 ms), however long a loaded machine takes to send 200 requests; one more
    // for a request that arrives after the last one turned away.
    const spreadMs = lastBusyAt - started;
    expect(notFound.length).toBeLessThanOrEqual(4 + 1 + Math.ceil(spreadMs / 500) + 1);
    expect(busy.length).toBeGreaterThanOrEqual(150);
    for (const b of busy) {
      expect(b.retryAfter).toBe('1');
      expect(b.text).toMatch(/^Busy looking up other grants; try again/);
    }
    for (const n of notFound) expect(n.text).toMatch(/Nylas answered 404/);
    // Only the admitted lookups reached Nylas, at most 4 at once, and the poll was served before
    // the last of them: lookups take at most a fifth of the pace.
    expect(lookups().length).toBe(notFound.length);
    expect(open.max).toBeGreaterThanOrEqual(1);
    expect(open.max).toBeLessThanOrEqual(4);
    expect(seen.some((s) => s.startsWith('GET /v3/grants?'))).toBe(true);
    expect(finished.indexOf('poll')).toBeLessThan(finished.length - 1);
  });

  it('answers a repeated lookup from its recent answers, without asking Nylas again', async () => {
    const id = unknownId(1_000);
    const before = lookups().length;
    const first = await fetch(`${sc.urls.admin}/support/${id}`);
    expect(first.status).toBe(404);
    expect(lookups().length).toBe(before + 1);
    const again = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${sc.urls.admin}/support/${id}`)),
    );
    expect(again.map((r) => r.status)).toEqual(Array(20).fill(404));
    expect(lookups().length).toBe(before + 1);

    const valid = sim.listGrantIds()[3]!;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${sc.urls.admin}/support/${valid}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('Grant status: valid');
    }
    expect(lookups().filter((s) => s.endsWith(valid))).toHaveLength(1);
  });
});
