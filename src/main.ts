#!/usr/bin/env node
// Composition root: reads the environment, builds the sidecar, starts it, handles signals.
// The only module that touches process.env, ports, signals and process.exit.
import { readFileSync } from 'node:fs';
import { createSidecar, type Sidecar } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createLogger, prettyDestination } from './log/index.js';
import { createTracing } from './tracing/index.js';
import { loadDemoRouter } from './admin/index.js';
import { redactCredentials } from './util/redact.js';

const USAGE = `Usage: nylas-sidecar [--check-config] [--help] [--version]

Starts the nylas-sidecar: an instrumented proxy for the Nylas API, pollers, an optional
webhook listener, and /metrics. Configured by environment variables (see README.md);
SIDECAR_CONFIG=path adds a YAML file with the same settings. SIDECAR_ROLE=proxy|pollers|all
says what this instance runs (default all). With nothing configured (no NYLAS_API_KEY,
SIDECAR_ROLE or upstream) it starts in demo mode against a built-in Nylas simulator.

  --check-config   validate the configuration, print every problem, exit 0 or 1
  --version        print the version
  --help           print this text
`;

function readVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

async function main(argv: string[]): Promise<number> {
  const args = new Set(argv);
  const version = readVersion();
  for (const a of args) {
    if (!['--check-config', '--help', '-h', '--version'].includes(a)) {
      process.stderr.write(`nylas-sidecar: unknown option ${a}\n\n${USAGE}`);
      return 2;
    }
  }
  if (args.has('--help') || args.has('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.has('--version')) {
    process.stdout.write(`${version}\n`);
    return 0;
  }

  let config: Config;
  try {
    config = loadConfig({ env: process.env, readFile: (p) => readFileSync(p, 'utf8') });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `nylas-sidecar: the configuration has ${err.problems.length} problem(s):\n` +
          err.problems.map((p) => `  - ${p}\n`).join(''),
      );
      return 1;
    }
    throw err;
  }
  if (args.has('--check-config')) {
    process.stdout.write(
      `nylas-sidecar: configuration OK: ${config.demo ? 'demo mode' : `live mode, upstream ${config.nylas.apiUri.origin}`}, role ${config.role} (${config.modeReason})\n`,
    );
    return 0;
  }

  // JSON for log shippers; readable lines when a person watches the terminal.
  const logger = createLogger({
    level: config.logLevel,
    destination: process.stdout.isTTY ? await prettyDestination() : undefined,
  });
  let demo: import('./demo/index.js').Demo | undefined;
  let adminRouters: import('express').Router[] = [];
  let pollOnScenarioChange: typeof import('./demo/wire.js').pollOnScenarioChange | undefined;
  if (config.demo) {
    // Loaded only in demo mode: production never imports the simulator or the demo's wiring.
    const [{ startDemo }, wire, { createDemoRouter }] = await Promise.all([
      import('./demo/index.js'),
      import('./demo/wire.js'),
      loadDemoRouter().then((createDemoRouter) => ({ createDemoRouter })),
    ]);
    try {
      demo = await startDemo({ scenario: config.demoScenario, logger });
    } catch (err) {
      process.stderr.write(
        `nylas-sidecar: could not start demo mode: ${redactCredentials((err as Error).message)}\n`,
      );
      return 1;
    }
    config = wire.demoConfig(config, demo, process.env);
    adminRouters = [createDemoRouter(demo.upstreamUrl)];
    pollOnScenarioChange = wire.pollOnScenarioChange;
  }

  let sidecar: Sidecar;
  let addresses;
  try {
    // Loads the trace SDK and the OTLP exporter only when an endpoint is set (tracing/setup.ts).
    const tracing = await createTracing({ env: process.env, version, logger });
    sidecar = createSidecar(config, {
      logger,
      version,
      tracing,
      adminRouters,
      demoScenario: demo ? () => demo.scenario : undefined,
    });
    addresses = await sidecar.start();
  } catch (err) {
    // A ListenError names the setting and the address (util/listen.ts).
    process.stderr.write(
      `nylas-sidecar: could not start: ${redactCredentials(String((err as Error).message))}\n`,
    );
    await demo?.stop();
    return 1;
  }

  const lines = [
    demo
      ? `nylas-sidecar is running in DEMO MODE (${config.modeReason}): a built-in Nylas simulator is the upstream and generated traffic flows through the proxy.`
      : `nylas-sidecar ${version} is running, role ${config.role}; upstream ${config.nylas.apiUri.origin}`,
  ];
  if (addresses.proxy)
    lines.push(`  proxy:    ${addresses.proxy}   (point the Nylas SDK's apiUri here)`);
  lines.push(`  metrics:  ${addresses.admin}/metrics`, `  overview: ${addresses.admin}/`);
  if (sidecar.traces)
    lines.push(`  traces:   ${sidecar.traces.url}   (OTLP ${sidecar.traces.protocol})`);
  if (!demo && config.role === 'all' && !config.nylas.apiKey)
    lines.push(
      '  note: NYLAS_API_KEY is not set, so the grants and webhooks pollers are off (with many replicas, run them in one SIDECAR_ROLE=pollers instance)',
    );
  if (addresses.webhook) lines.push(`  webhooks: ${addresses.webhook}`);
  if (demo) {
    lines.push(`  simulator: ${demo.upstreamUrl}   (API key: ${demo.credentials.apiKey})`);
    if (addresses.proxy)
      lines.push(
        `  try it:   new Nylas({ apiKey: '${demo.credentials.apiKey}', apiUri: '${addresses.proxy}' })   (the simulator accepts only this key)`,
      );
    lines.push(
      `  switch the demo's scenario (${demo.scenarios.join(', ')}):`,
      `    curl -X POST ${addresses.admin}/demo/scenario -H 'content-type: application/json' -d '{"name":"outage"}'`,
    );
  }
  process.stderr.write(`${redactCredentials(lines.join('\n'))}\n`);
  logger.info(
    { event: 'started', demo: Boolean(demo), role: config.role, ...addresses },
    'nylas-sidecar started',
  );
  if (demo && addresses.proxy)
    demo.startTraffic({ proxy: addresses.proxy, webhook: addresses.webhook });
  if (demo) pollOnScenarioChange?.(demo, sidecar.pollers);

  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) return;
      signalled = true;
      logger.info({ event: 'shutdown', signal }, 'shutting down');
      void (async () => {
        await demo?.stopTraffic();
        await sidecar.stop();
        await demo?.stop();
        logger.flush();
        resolve(0);
      })();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // As the exporters do: SIGHUP reads the web config files again (they are also watched).
    process.on('SIGHUP', () => sidecar.reloadWebConfig());
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Let pending stdout writes drain; nothing else should be keeping the loop alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(
      `nylas-sidecar: fatal: ${redactCredentials((err as Error)?.stack ?? String(err))}\n`,
    );
    process.exit(1);
  },
);
