import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Nylas } from '../../src/demo/nylas-sdk.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { createWebhookSender, makeEvent } from '../../src/simulator/webhook-sender.js';
import { scrape, series } from '../helpers/metrics.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

const API_KEY = 'sim-key-for-grant-notifications';
const SECRET = 'sim-webhook-secret';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** The app behind the listener: acknowledges notifications and answers challenges. */
async function startApp(): Promise<string> {
  const app: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const challenge = new URL(req.url ?? '/', 'http://x').searchParams.get('challenge');
      res.writeHead(200).end(challenge ?? 'ok');
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    app.closeAllConnections();
    await new Promise((resolve) => app.close(resolve));
  });
  return `http://127.0.0.1:${(app.address() as AddressInfo).port}/nylas/webhook`;
}

/** A simulator with grant notifications on, a sidecar whose listener takes them, and a destination. */
async function setup(opts: { invalidGrants?: number } = {}): Promise<{
  sim: Simulator;
  sc: TestSidecar;
}> {
  const sim = createSimulator({
    apiKey: API_KEY,
    grants: 40,
    invalidGrants: opts.invalidGrants ?? 0,
    webhookSecret: SECRET,
    grantNotifications: true,
  });
  await sim.start();
  cleanup.push(() => sim.stop());
  const sc = await startTestSidecar({
    NYLAS_API_URI: sim.url,
    NYLAS_API_KEY: API_KEY,
    SIDECAR_WEBHOOK_LISTEN: '127.0.0.1:0',
    SIDECAR_WEBHOOK_FORWARD_URL: await startApp(),
    NYLAS_WEBHOOK_SECRET: SECRET,
  });
  cleanup.push(() => sc.stop());
  // The app subscribes to the grant triggers, through the SDK, as a real app would.
  const nylas = new Nylas({ apiKey: API_KEY, apiUri: sim.url });
  await nylas.webhooks.create({
    requestBody: {
      triggerTypes: ['grant.expired', 'grant.updated', 'grant.deleted', 'grant.created'] as never,
      webhookUrl: sc.urls.webhook!,
    },
  });
  return { sim, sc };
}

const invalidSeries = async (sc: TestSidecar, source: string) =>
  series(await scrape(sc.urls.admin), 'nylas_grant_invalid', { source });

/** The notification series once there is one (the delivery is asynchronous), within 10 s. */
const toldSoon = (sc: TestSidecar) =>
  vi.waitFor(
    async () => {
      const told = await invalidSeries(sc, 'notification');
      if (told.length === 0) throw new Error('no nylas_grant_invalid{source="notification"} yet');
      return told;
    },
    { timeout: 10_000, interval: 20 },
  );

describe('grant health from notifications', () => {
  it('shows a grant that expired in the simulator before any poll, and the poll confirms it', async () => {
    const { sim, sc } = await setup();
    const id = sim.listGrantIds()[11]!;
    const delivered = await sim.setGrantStatus(id, 'invalid');
    expect(delivered).toMatchObject({ destinations: 1, delivered: 1 });
    // No poll has run (every schedule is off): the series comes from the delivery alone.
    expect(sc.sidecar.pollers.snapshot().grants).toBeUndefined();
    const told = await invalidSeries(sc, 'notification');
    expect(told).toHaveLength(1);
    expect(told[0]!.labels).toMatchObject({ grant_id: id, source: 'notification' });
    expect(told[0]!.value).toBe(1);
    expect(await invalidSeries(sc, 'poll')).toHaveLength(0);

    const status = (await (await fetch(`${sc.urls.admin}/status`)).json()) as {
      notifiedGrants: { grantId: string; state: string; source: string; learntAt: string }[];
    };
    expect(status.notifiedGrants).toEqual([
      expect.objectContaining({ grantId: id, state: 'invalid', source: 'notification' }),
    ]);
    expect(Date.parse(status.notifiedGrants[0]!.learntAt)).not.toBeNaN();
    const html = await (await fetch(`${sc.urls.admin}/`)).text();
    expect(html).toContain(id);
    expect(html).toContain('grant.expired');
    const ticket = await (await fetch(`${sc.urls.admin}/support/${id}`)).text();
    expect(ticket).toMatch(/Grant status: invalid \(checked .* via a grant notification/);

    // The next poll sees it too: the poll's series confirms it and the notification's gives way.
    expect(await sc.sidecar.pollers.runOnce('grants')).toBe('success');
    expect(await invalidSeries(sc, 'notification')).toHaveLength(0);
    const polled = await invalidSeries(sc, 'poll');
    expect(polled.map((s) => s.labels.grant_id)).toEqual([id]);
  });

  it('drops a grant on re-authentication (grant.updated), and a poll corrects a wrong notification', async () => {
    const { sim, sc } = await setup({ invalidGrants: 1 });
    expect(await sc.sidecar.pollers.runOnce('grants')).toBe('success');
    const [known] = await invalidSeries(sc, 'poll');
    const id = known!.labels.grant_id!;
    // The user re-authenticates: grant.updated says valid (0) before the next poll.
    await sim.setGrantStatus(id, 'valid');
    const told = await invalidSeries(sc, 'notification');
    expect(told.map((s) => [s.labels.grant_id, s.value])).toEqual([[id, 0]]);
    expect(await sc.sidecar.pollers.runOnce('grants')).toBe('success');
    expect(await invalidSeries(sc, 'poll')).toHaveLength(0);
    expect(await invalidSeries(sc, 'notification')).toHaveLength(0);

    // A grant.expired that Nylas's own list contradicts is corrected by the next poll.
    const other = sim.listGrantIds()[3]!;
    const sender = createWebhookSender({ secret: SECRET, backoffMs: () => 0 });
    const event = makeEvent('grant.expired', { grantId: other });
    expect((await sender.deliver(sc.urls.webhook!, event)).delivered).toBe(true);
    expect((await invalidSeries(sc, 'notification')).map((s) => s.labels.grant_id)).toEqual([
      other,
    ]);
    expect(await sc.sidecar.pollers.runOnce('grants')).toBe('success');
    expect(await invalidSeries(sc, 'notification')).toHaveLength(0);
    expect(await invalidSeries(sc, 'poll')).toHaveLength(0);
  });

  it('grant-expiry demo scenario: a grant expires on its own and shows before any poll', async () => {
    // Only the simulator's scenario timer is faked: sockets and the listener run for real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    cleanup.push(async () => {
      vi.useRealTimers();
      await Promise.resolve();
    });
    const { sim, sc } = await setup();
    sim.setScenario('grant-expiry');
    expect(sim.grantNotifications).toBe(true);
    vi.advanceTimersByTime(20_000);
    const told = await toldSoon(sc);
    expect(told).toHaveLength(1);
    expect(told[0]!.value).toBe(1);
    expect(sc.sidecar.pollers.snapshot().grants).toBeUndefined();
  });

  it('marks a grant deleted through the API (grant.deleted) as no longer invalid', async () => {
    const { sim, sc } = await setup({ invalidGrants: 1 });
    expect(await sc.sidecar.pollers.runOnce('grants')).toBe('success');
    const id = (await invalidSeries(sc, 'poll'))[0]!.labels.grant_id!;
    const nylas = new Nylas({ apiKey: API_KEY, apiUri: sim.url });
    await nylas.grants.destroy({ grantId: id });
    const told = await toldSoon(sc);
    expect(told.map((s) => [s.labels.grant_id, s.value])).toEqual([[id, 0]]);
    const status = (await (await fetch(`${sc.urls.admin}/status`)).json()) as {
      notifiedGrants: { grantId: string; state: string; trigger: string }[];
    };
    expect(status.notifiedGrants).toEqual([
      expect.objectContaining({ grantId: id, state: 'deleted', trigger: 'grant.deleted' }),
    ]);
  });

  it('ignores a grant.expired whose signature does not verify', async () => {
    const { sim, sc } = await setup();
    const forged = createWebhookSender({ secret: 'guess', backoffMs: () => 0 });
    const event = makeEvent('grant.expired', { grantId: sim.listGrantIds()[5]! });
    await forged.deliver(sc.urls.webhook!, event, { maxAttempts: 1 });
    expect(await invalidSeries(sc, 'notification')).toHaveLength(0);
  });
});
