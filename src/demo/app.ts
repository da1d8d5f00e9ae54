// The demo "app": the webhook endpoint the sidecar's webhook listener forwards deliveries to.
// It answers the challenge and acknowledges notifications fast, except under `webhook-failing`,
// where it behaves like a struggling endpoint (500s and slow answers) so that failures show.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoApp {
  start(): Promise<string>;
  stop(): Promise<void>;
  /** Notifications received so far. */
  readonly received: number;
}

/** Creates the demo app; `failing()` says whether to misbehave right now. */
export function createDemoApp(opts: { failing: () => boolean; random?: () => number }): DemoApp {
  const random = opts.random ?? Math.random;
  const timers = new Set<NodeJS.Timeout>();
  let received = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    const challenge = url.searchParams.get('challenge');
    if (req.method === 'GET' && challenge !== null) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(challenge);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    req.resume();
    req.on('end', () => {
      received++;
      const r = random();
      if (opts.failing() && r < 0.6) {
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end('the demo app is failing on purpose');
      } else if (opts.failing() && r < 0.8) {
        // Slow, but inside the listener's patience: shows up in the forward-duration histogram.
        const t = setTimeout(() => {
          timers.delete(t);
          res.writeHead(200).end('ok (slowly)');
        }, 3_000);
        timers.add(t);
      } else {
        res.writeHead(200).end('ok');
      }
    });
  });
  return {
    get received() {
      return received;
    },
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const addr = server.address() as AddressInfo;
      return `http://127.0.0.1:${addr.port}/webhooks/nylas`;
    },
    stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
