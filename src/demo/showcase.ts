// One demo scenario, fresh, in this process: the simulator, the sidecar wired as in demo mode,
// fast SDK traffic and the pollers run. The overview's screenshots (`npm run screenshots`) and
// its browser test both look at it; a fresh one per scenario keeps the 5-minute window about that
// scenario alone.
import { Writable } from 'node:stream';
import { createSidecar, type Sidecar } from '../app.js';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../log/index.js';
import { startDemo, type Demo } from './index.js';
import { demoConfig, pollOnScenarioChange } from './wire.js';

export interface Showcase {
  admin: string;
  proxy: string;
  demo: Demo;
  sidecar: Sidecar;
  stop(): Promise<void>;
}

const quiet = () =>
  createLogger({ level: 'error', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a demo in `scenario` and drives `requests` SDK calls through the proxy. */
export async function startShowcase(opts: {
  scenario: string;
  requests: number;
  /** Milliseconds between SDK calls (default 20). */
  intervalMs?: number;
  /** Traffic sample step, for the sparklines (default 1 s). */
  sampleMs?: number;
  /** Gives up waiting for traffic after this long (default 120 s). */
  timeoutMs?: number;
  /** Shown in the overview's strip. */
  version?: string;
}): Promise<Showcase> {
  const logger = quiet();
  const demo = await startDemo({
    scenario: 'healthy',
    logger,
    trafficIntervalMs: opts.intervalMs ?? 20,
    // Retries wait out Retry-After under rate-limited: more calls in flight keep the pace.
    trafficMaxInFlight: 24,
  });
  const config = demoConfig(
    loadConfig({
      env: {
        SIDECAR_DEMO: 'true',
        SIDECAR_LISTEN: '127.0.0.1:0',
        SIDECAR_ADMIN_LISTEN: '127.0.0.1:0',
      },
    }),
    demo,
  );
  const sidecar = createSidecar(config, {
    logger,
    version: opts.version ?? 'dev',
    defaultMetrics: false,
    demoScenario: () => demo.scenario,
    trafficSampleMs: opts.sampleMs ?? 1000,
  });
  const urls = await sidecar.start();
  const stop = async () => {
    await demo.stopTraffic();
    await sidecar.stop();
    await demo.stop();
  };
  try {
    demo.startTraffic({ proxy: urls.proxy!, webhook: urls.webhook });
    pollOnScenarioChange(demo, sidecar.pollers);
    // The app registers its webhook destination while all is well, as it would in production;
    // the scenario then acts on it (webhook-failing sets it failing).
    const end = Date.now() + (opts.timeoutMs ?? 120_000);
    while ((sidecar.pollers.snapshot().webhooks?.destinations.length ?? 0) === 0) {
      if (Date.now() > end) throw new Error('the demo webhook destination was not registered');
      await sidecar.pollers.runOnce('webhooks');
      await sleep(100);
    }
    demo.setScenario(opts.scenario);
    const count = () => sidecar.metrics.apiRequests;
    for (;;) {
      let n = 0;
      count().forEachCell((c) => (n += c.value));
      if (n >= opts.requests) break;
      if (Date.now() > end) throw new Error(`only ${n} requests in time`);
      await sleep(200);
    }
    for (const p of ['grants', 'grants_census', 'accounts', 'webhooks', 'status_page'] as const)
      await sidecar.pollers.runOnce(p);
    // Restart automation runs in the accounts poll; one more shows its result.
    await sidecar.pollers.runOnce('accounts');
  } catch (err) {
    await stop();
    throw err;
  }
  return { admin: urls.admin, proxy: urls.proxy!, demo, sidecar, stop };
}
