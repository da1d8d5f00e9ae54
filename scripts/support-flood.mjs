#!/usr/bin/env node
// Measures what a flood of /support lookups does to the grants poller (a lookup of a grant the
// sidecar has not seen asks Nylas through the pollers' pacer, so a flood must not delay a poll):
// starts the built sidecar in this process against the simulator, sends N concurrent
// GET /support/{unknown id}, waits WAIT_MS so that they have all arrived, then times one grants
// poll. Prints one JSON line. Not part of `npm test` (it reports wall-clock figures).
//   npm run build && node scripts/support-flood.mjs [N=200] [WAIT_MS=1000]
/* global fetch, performance, setTimeout */
const n = Number(process.argv[2] ?? 200);
const waitMs = Number(process.argv[3] ?? 1000);
const dist = new URL('../dist/src/', import.meta.url);
const { createSidecar } = await import(new URL('app.js', dist).href);
const { loadConfig } = await import(new URL('config/index.js', dist).href);
const { createLogger } = await import(new URL('log/logger.js', dist).href);
const { createSimulator } = await import(new URL('simulator/index.js', dist).href);

const sim = createSimulator({ apiKey: 'flood-key', grants: 20 });
const url = await sim.start();
const config = loadConfig({
  env: {
    NYLAS_API_KEY: 'flood-key',
    NYLAS_API_URI: url,
    NYLAS_STATUS_PAGE_URL: url,
    SIDECAR_LISTEN: '127.0.0.1:0',
    SIDECAR_ADMIN_LISTEN: '127.0.0.1:0',
    SIDECAR_POLL_GRANTS: 'off',
    SIDECAR_POLL_WEBHOOKS: 'off',
    SIDECAR_POLL_STATUS_PAGE: 'off',
    SIDECAR_POLL_ACCOUNTS: 'off',
  },
});
const sidecar = createSidecar(config, {
  logger: createLogger({ level: 'silent' }),
  version: 'flood',
  defaultMetrics: false,
});
const urls = await sidecar.start();
const t0 = performance.now();
const flood = Array.from({ length: n }, (_, i) =>
  fetch(`${urls.admin}/support/00000000-0000-4000-8000-${String(i).padStart(12, '0')}`).then(
    async (r) => {
      await r.text();
      return r.status;
    },
  ),
);
await new Promise((r) => setTimeout(r, waitMs));
const p0 = performance.now();
const poll = await sidecar.pollers.runOnce('grants');
const pollMs = performance.now() - p0;
const statuses = {};
for (const s of await Promise.all(flood)) statuses[s] = (statuses[s] ?? 0) + 1;
console.log(
  JSON.stringify({
    lookups: n,
    poll,
    pollMs: Math.round(pollMs),
    floodMs: Math.round(performance.now() - t0),
    statuses,
  }),
);
await sidecar.stop();
await sim.stop();
