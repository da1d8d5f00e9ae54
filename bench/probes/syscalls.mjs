// Probe behind docs/span-export.md ("Third look"), after `npm run build`. Loopback only; needs
// strace (Debian's `strace`) and the right to attach to a child (root, or ptrace_scope 0).
//   node bench/probes/syscalls.mjs
//   System calls per request of the bare proxy, the sidecar exporting spans and the sidecar with
//   no OTLP endpoint: `strace -c -f` attached to each over 3 s at 1,000 requests/s.
/* global setTimeout */
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(`${ROOT}/package.json`);
const autocannon = require('autocannon');
const B = `${ROOT}/dist/bench`;
const { freePort, waitHealthy } = await import(`${B}/proc.js`);
const { benchSidecarEnv } = await import(`${B}/sidecar-env.js`);
try {
  execFileSync('strace', ['-V'], { stdio: 'ignore' });
} catch {
  console.error('strace is not installed (apt-get install strace)');
  process.exit(2);
}
const kids = [];
process.on('exit', () => kids.forEach((k) => k.kill('SIGKILL')));
const env = { PATH: process.env.PATH ?? '' };
function start(args) {
  const c = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  kids.push(c);
  return new Promise((res) => {
    let b = '';
    c.stdout.on('data', (d) => {
      b += d;
      const i = b.indexOf('\n');
      if (i >= 0) res({ c, port: JSON.parse(b.slice(0, i)).port });
    });
  });
}
const up = await start([`${B}/upstream.js`]);
const upstream = `http://127.0.0.1:${up.port}`;
const sink = await start([`${B}/otlp-sink.js`]);
const bare = await start([`${B}/bare-proxy.js`, upstream]);
const targets = { 'bare proxy': { url: `http://127.0.0.1:${bare.port}`, pid: bare.c.pid } };
for (const [name, otlp] of [
  ['sidecar, spans exported', `http://127.0.0.1:${sink.port}`],
  ['sidecar, no OTLP endpoint', undefined],
]) {
  const [proxyPort, adminPort] = [await freePort(), await freePort()];
  const c = spawn(process.execPath, [`${ROOT}/dist/src/main.js`], {
    env: {
      ...env,
      ...benchSidecarEnv({ upstream, proxyPort, adminPort }),
      SIDECAR_LOG_LEVEL: 'warn',
      ...(otlp ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp } : {}),
    },
    stdio: 'ignore',
  });
  kids.push(c);
  await waitHealthy(adminPort);
  targets[name] = { url: `http://127.0.0.1:${proxyPort}`, pid: c.pid };
}
const path = '/v3/grants/d2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a/messages?limit=5';
for (const [name, t] of Object.entries(targets)) {
  await autocannon({ url: t.url + path, connections: 16, duration: 1 });
  const out = join(tmpdir(), `syscalls-${t.pid}.txt`);
  const st = spawn('strace', ['-c', '-f', '-p', String(t.pid), '-o', out], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const r = await autocannon({
    url: t.url + path,
    connections: 16,
    duration: 3,
    overallRate: 1000,
  });
  st.kill('SIGINT');
  await new Promise((r) => st.once('exit', r));
  const n = r.requests.total;
  const per = [];
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line);
    if (m && ['read', 'write', 'writev', 'readv', 'sendmsg', 'recvmsg'].includes(m[2]))
      per.push(`${m[2]} ${(Number(m[1]) / n).toFixed(2)}`);
  }
  console.log(`${name.padEnd(26)} ${n} requests; per request: ${per.join(', ')}`);
}
process.exit(0);
