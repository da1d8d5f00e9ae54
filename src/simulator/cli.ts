#!/usr/bin/env node
// `npm run simulator`: the Nylas simulator on its own, for trying the sidecar or for a user's tests.
import { parseArgs } from 'node:util';
import { CONTROL_ROUTES, createSimulator, describeScenario, SCENARIOS } from './index.js';

const USAGE = `Usage: npm run simulator -- [options]   (or: node dist/src/simulator/cli.js [options])

A fake Nylas API (v3, v2 accounts, status page) with switchable faults.

  --port N              port to listen on (default 4010; 0 picks a free one)
  --host H              address to listen on (default 127.0.0.1)
  --scenario NAME       start in a scenario (default healthy): ${SCENARIOS.join(', ')}
  --grants N            seeded v3 grants (default 25; 50000 is fine)
  --invalid-grants N    how many of them start invalid (default 0)
  --accounts N          seeded v2 accounts (default 10)
  --seed N              seed of the generated data (default 1)
  --help                print this text

Credentials it accepts: API key "nylas-sim-api-key"; v2 client id "sim-client-id", client secret
"sim-client-secret"; webhook deliveries are signed with "sim-webhook-secret".
`;

function int(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be an integer >= 0, got "${v}"`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        scenario: { type: 'string' },
        grants: { type: 'string' },
        'invalid-grants': { type: 'string' },
        accounts: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`nylas-simulator: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let sim;
  let port: number;
  try {
    port = int(values.port, 'port', 4010);
    if (port > 65535) throw new Error('--port must be at most 65535');
    const scenario = values.scenario ?? 'healthy';
    if (!SCENARIOS.includes(scenario))
      throw new Error(`unknown scenario "${scenario}"; valid scenarios: ${SCENARIOS.join(', ')}`);
    sim = createSimulator({
      scenario,
      grants: int(values.grants, 'grants', 25),
      invalidGrants: int(values['invalid-grants'], 'invalid-grants', 0),
      accounts: int(values.accounts, 'accounts', 10),
      seed: int(values.seed, 'seed', 1),
    });
  } catch (err) {
    process.stderr.write(`nylas-simulator: ${(err as Error).message}\n`);
    return 2;
  }
  let url: string;
  try {
    url = await sim.start(port, values.host ?? '127.0.0.1');
  } catch (err) {
    process.stderr.write(`nylas-simulator: could not listen: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(
    [
      `Nylas simulator listening on ${url}`,
      `  scenario: ${sim.scenario} (${describeScenario(sim.scenario) ?? ''})`,
      `  v3 API:       ${url}/v3/...   Authorization: Bearer nylas-sim-api-key`,
      `  v2 accounts:  ${url}/a/sim-client-id/accounts   Basic auth "sim-client-secret:"`,
      `  status page:  ${url}/api/v2/summary.json`,
      `  control API (${url}/_simulator):`,
      ...CONTROL_ROUTES.map((r) => `    ${r}`),
      `  e.g. curl -X POST ${url}/_simulator/scenario -H 'content-type: application/json' -d '{"name":"outage"}'`,
      `  scenarios: ${SCENARIOS.join(', ')}`,
      '',
    ].join('\n'),
  );
  return new Promise<number>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      void sim.stop().then(() => resolve(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`nylas-simulator: fatal: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
