// Probe behind docs/span-export.md ("Third look"), after `npm run build`. Loopback only.
//   node bench/probes/export-transport.mjs
//   CPU (user and system, this process) of one OTLP/HTTP export request as the sidecar sends it:
//   the OTLP exporter's own `sendWithHttp` (http/protobuf body by default; keep-alive agent), to
//   the benchmark's receiver on core 1 with this process on core 0, for bodies of 384 KB (512
//   spans as JSON), 160 KB (the same as protobuf) and 16 KB; a plain `http.request` with a
//   content-length alongside, in alternating rounds. Per span = per request / 512.
/* global Buffer */
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(`${ROOT}/package.json`);
// Not in the package's exports: the transport the exporter itself uses.
const { sendWithHttp } = require(
  `${ROOT}/node_modules/@opentelemetry/otlp-exporter-base/build/src/transport/http-transport-utils.js`,
);
let pinned = true;
try {
  execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
} catch {
  pinned = false;
}
const sink = spawn(
  pinned ? 'taskset' : process.execPath,
  [...(pinned ? ['-c', '1', process.execPath] : []), `${ROOT}/dist/bench/otlp-sink.js`],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
process.on('exit', () => sink.kill());
const port = await new Promise((r) =>
  sink.stdout.once('data', (d) => r(JSON.parse(String(d)).port)),
);
const url = `http://127.0.0.1:${port}/v1/traces`;
const agent = new http.Agent({ keepAlive: true });
const type = { 'Content-Type': 'application/x-protobuf' };
const lib = (body) =>
  sendWithHttp(http.request, url, { ...type }, 'none', undefined, agent, body, 10_000);
const plain = (body) =>
  new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...type, 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const N = 300;
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const kb of [384, 160, 16]) {
  const body = Buffer.alloc(kb * 1024, 'a');
  const got = { lib: [], plain: [] };
  for (let r = 0; r < ROUNDS; r++)
    for (const [name, send] of [
      ['lib', lib],
      ['plain', plain],
    ]) {
      for (let i = 0; i < 50; i++) await send(body);
      const c0 = process.cpuUsage();
      for (let i = 0; i < N; i++) await send(body);
      const c = process.cpuUsage(c0);
      got[name].push({ user: c.user / N, system: c.system / N });
    }
  for (const [name, xs] of Object.entries(got)) {
    const user = med(xs.map((x) => x.user));
    const system = med(xs.map((x) => x.system));
    console.log(
      `${String(kb).padStart(3)} KB ${name.padEnd(5)} user ${user.toFixed(0)} µs, system ${system.toFixed(0)} µs a request; ${((user + system) / 512).toFixed(2)} µs a span at 512 a batch (medians of ${ROUNDS})`,
    );
  }
}
process.exit(0);
