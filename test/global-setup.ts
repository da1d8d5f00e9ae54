import { spawnSync } from 'node:child_process';

/**
 * Builds dist/ once per test run: several tests start the built entry point (`node
 * dist/src/main.js`) as a child process, the way a user runs it. Type errors are reported by
 * `npm run typecheck`; here tsc's output is shown and the tests that need dist/ decide.
 */
export default function setup(): void {
  if (process.env.SIDECAR_TEST_SKIP_BUILD === '1') return;
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {
    encoding: 'utf8',
    stdio: 'pipe',
  });
  if (r.status !== 0)
    process.stderr.write(`\n[global-setup] tsc reported problems:\n${r.stdout}${r.stderr}\n`);
}
