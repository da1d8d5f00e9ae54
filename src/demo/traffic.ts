// Demo traffic: a realistic mix of Nylas calls through the proxy with the official SDK, a few per
// second, plus signed webhook deliveries from the simulator. Errors are expected under faults and
// never stop the loop.
import type { Logger } from '../log/index.js';
import { Nylas, type NylasClient } from './nylas-sdk.js';

export interface TrafficOptions {
  proxyUrl: string;
  apiKey: string;
  grantIds: string[];
  logger: Logger;
  /** Milliseconds between SDK calls (default 350: about three a second). */
  intervalMs?: number;
  /** Most SDK calls in flight at once (default 4): a slow upstream does not pile calls up. */
  maxInFlight?: number;
  /** Sends one batch of webhook deliveries; called every `webhookIntervalMs`. */
  deliver?: () => Promise<unknown>;
  webhookIntervalMs?: number;
  random?: () => number;
}

export interface Traffic {
  /** Calls made so far, and how many ended in an error (SDK errors are expected under faults). */
  readonly counts: { calls: number; errors: number; deliveries: number };
  stop(): Promise<void>;
}

type Action = (nylas: NylasClient, grant: string) => Promise<unknown>;

async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    bytes += value.byteLength;
  }
}

/** The mix: weights roughly like an app that reads mail and calendars and sometimes sends. */
const ACTIONS: Array<[number, string, Action]> = [
  [8, 'grants.list', (n) => n.grants.list({ queryParams: { limit: 10 } })],
  [22, 'messages.list', (n, g) => n.messages.list({ identifier: g, queryParams: { limit: 20 } })],
  [
    14,
    'messages.find',
    async (n, g) => {
      const page = await n.messages.list({ identifier: g, queryParams: { limit: 5 } });
      const m = page.data[Math.floor(Math.random() * page.data.length)];
      if (m) await n.messages.find({ identifier: g, messageId: m.id });
    },
  ],
  [10, 'threads.list', (n, g) => n.threads.list({ identifier: g, queryParams: { limit: 10 } })],
  [
    10,
    'events.list',
    (n, g) => n.events.list({ identifier: g, queryParams: { calendarId: 'primary', limit: 20 } }),
  ],
  [7, 'calendars.list', (n, g) => n.calendars.list({ identifier: g })],
  [7, 'contacts.list', (n, g) => n.contacts.list({ identifier: g, queryParams: { limit: 25 } })],
  [5, 'folders.list', (n, g) => n.folders.list({ identifier: g })],
  [3, 'drafts.list', (n, g) => n.drafts.list({ identifier: g })],
  [
    4,
    'messages.send',
    (n, g) =>
      n.messages.send({
        identifier: g,
        requestBody: {
          to: [{ name: 'Demo Recipient', email: 'recipient@example.com' }],
          subject: 'Hello from the nylas-sidecar demo',
          body: '<p>This message was sent through the sidecar proxy.</p>',
        },
      }),
  ],
  [
    3,
    'attachments.download',
    async (n, g) => {
      const page = await n.messages.list({ identifier: g, queryParams: { limit: 10 } });
      for (const m of page.data)
        for (const a of m.attachments ?? [])
          if (a.id && (a.size ?? 0) < 1024 * 1024) {
            const stream = await n.attachments.download({
              identifier: g,
              attachmentId: a.id,
              queryParams: { messageId: m.id },
            });
            return drain(stream);
          }
    },
  ],
  // An app asking for something that is not there: a 404 now and then.
  [
    3,
    'messages.find (missing)',
    (n, g) => n.messages.find({ identifier: g, messageId: 'does-not-exist-0000' }),
  ],
];
const TOTAL_WEIGHT = ACTIONS.reduce((a, [w]) => a + w, 0);

/** Starts the traffic loop; it runs until stop(). */
export function startTraffic(opts: TrafficOptions): Traffic {
  const random = opts.random ?? Math.random;
  const nylas = new Nylas({ apiKey: opts.apiKey, apiUri: opts.proxyUrl, timeout: 30 });
  const interval = opts.intervalMs ?? 350;
  const maxInFlight = opts.maxInFlight ?? 4;
  const inFlight = new Set<Promise<void>>();
  const counts = { calls: 0, errors: 0, deliveries: 0 };
  let stopped = false;
  let callTimer: NodeJS.Timeout | undefined;
  let hookTimer: NodeJS.Timeout | undefined;
  let delivering: Promise<void> | undefined;

  const pickAction = (): [string, Action] => {
    let r = random() * TOTAL_WEIGHT;
    for (const [w, name, act] of ACTIONS) {
      if ((r -= w) < 0) return [name, act];
    }
    const last = ACTIONS[ACTIONS.length - 1]!;
    return [last[1], last[2]];
  };

  const tick = () => {
    if (stopped) return;
    if (inFlight.size < maxInFlight && opts.grantIds.length > 0) {
      const [name, act] = pickAction();
      const grant = opts.grantIds[Math.floor(random() * opts.grantIds.length)]!;
      counts.calls++;
      const p: Promise<void> = act(nylas, grant).then(
        () => undefined,
        (err: unknown) => {
          counts.errors++;
          const e = err as { statusCode?: number; type?: string; message?: string };
          opts.logger.debug(
            { event: 'demo_call_failed', call: name, status: e.statusCode, error_type: e.type },
            'demo call failed (expected under faults)',
          );
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    callTimer = setTimeout(tick, interval * (0.5 + random()));
    callTimer.unref();
  };

  const hookTick = () => {
    if (stopped || !opts.deliver) return;
    if (!delivering) {
      counts.deliveries++;
      delivering = opts
        .deliver()
        .then(
          () => undefined,
          (err: unknown) =>
            opts.logger.debug(
              { event: 'demo_delivery_failed', err },
              'demo webhook delivery failed',
            ),
        )
        .finally(() => {
          delivering = undefined;
        });
    }
    hookTimer = setTimeout(hookTick, opts.webhookIntervalMs ?? 2_000);
    hookTimer.unref();
  };

  tick();
  if (opts.deliver) {
    hookTimer = setTimeout(hookTick, 500);
    hookTimer.unref();
  }

  return {
    counts,
    async stop() {
      stopped = true;
      clearTimeout(callTimer);
      clearTimeout(hookTimer);
      // Calls in flight finish on their own (the proxy drains them on shutdown); wait briefly so
      // that their log lines land before the sidecar stops, but never hang shutdown on them.
      const pending = [...inFlight, ...(delivering ? [delivering] : [])];
      if (pending.length === 0) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        t.unref();
        void Promise.allSettled(pending).then(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
