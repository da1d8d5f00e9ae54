#!/usr/bin/env node
// Makes sure the Debian packages the tests use are present: promtool and prometheus
// (package prometheus), amtool and alertmanager (prometheus-alertmanager), chromium (the HTML
// overview test), docker-compose (validates docker-compose.yml) and kubectl (kubernetes-client:
// builds deploy/kubernetes with `kubectl kustomize`). Installs what is missing
// when it can (root with apt-get); otherwise says exactly what to run, and exits 1.
import { execFileSync, spawnSync } from 'node:child_process';

const NEEDED = [
  { bin: 'promtool', pkg: 'prometheus' },
  { bin: 'prometheus', pkg: 'prometheus' },
  { bin: 'amtool', pkg: 'prometheus-alertmanager' },
  { bin: 'prometheus-alertmanager', pkg: 'prometheus-alertmanager' },
  { bin: 'chromium', pkg: 'chromium' },
  { bin: 'docker-compose', pkg: 'docker-compose' },
  { bin: 'kubectl', pkg: 'kubernetes-client' },
];

const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
const missing = [...new Set(NEEDED.filter((n) => !has(n.bin)).map((n) => n.pkg))];
if (missing.length === 0) process.exit(0);

const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !has('apt-get') || process.env.SIDECAR_NO_APT === '1') {
  process.stderr.write(
    `The tests need Debian packages that are missing: ${missing.join(', ')}.\nInstall them with:\n  sudo sh -c '${cmd}'\n`,
  );
  process.exit(1);
}
process.stderr.write(`Installing test dependencies: ${missing.join(', ')} (apt-get)...\n`);
try {
  execFileSync('sh', ['-c', `${cmd} >/tmp/nylas-sidecar-apt.log 2>&1`], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
} catch {
  process.stderr.write('apt-get failed; see /tmp/nylas-sidecar-apt.log\n');
  process.exit(1);
}
