// Summarises a --cpu-prof profile (bench/probes/span-cost.mjs profile): self time by file and by
// function; INCL=regex adds inclusive time, CALLERS=regex [DEPTH=n] the callers of a function;
// REQUESTS=n (the count span-cost.mjs profile prints) adds µs per request: busy (not idle), the
// sidecar's own code (dist/src) and by file.
//   node bench/probes/analyze.mjs <dir> [rows]
import { readFileSync, readdirSync } from 'node:fs';
const dir = process.argv[2] ?? 'span-cost-profile';
const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => dir + '/' + f)[0];
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas;
let total = 0;
const count = new Map();
for (let i = 0; i < p.samples.length; i++) {
  const d = dt[i] ?? 0;
  count.set(p.samples[i], (count.get(p.samples[i]) ?? 0) + d);
  total += d;
}
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const key = (n) =>
  `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*node_modules\//, 'nm/').replace(/.*\/dist\//, '')}:${n.callFrame.lineNumber}`;
const fileOf = (n) => {
  const u = n.callFrame.url;
  if (!u) return n.callFrame.functionName;
  if (u.includes('node_modules'))
    return (
      'nm/' +
      u.replace(/.*node_modules\//, '').split('/')[0] +
      (u.includes('@opentelemetry') ? '/' + u.replace(/.*@opentelemetry\//, '').split('/')[0] : '')
    );
  if (u.startsWith('node:')) return u;
  return u.replace(/.*\/dist\//, '');
};
const byFile = new Map();
// inclusive time per function: attribute sample to all distinct ancestors
const incl = new Map();
for (const [id, t] of count) {
  const n = byId.get(id);
  self.set(key(n), (self.get(key(n)) ?? 0) + t);
  byFile.set(fileOf(n), (byFile.get(fileOf(n)) ?? 0) + t);
  const seen = new Set();
  let cur = id;
  while (cur !== undefined) {
    const k = key(byId.get(cur));
    if (!seen.has(k)) {
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + t);
    }
    cur = parent.get(cur);
  }
}
const pct = (t) => ((100 * t) / total).toFixed(1).padStart(5) + '%';
const requests = Number(process.env.REQUESTS ?? 0);
if (requests > 0) {
  const us = (t) => (t / requests).toFixed(2).padStart(7);
  const idle = byFile.get('(idle)') ?? 0;
  let own = 0;
  for (const [k, t] of byFile) if (k.startsWith('src/')) own += t;
  console.log(`µs per request: busy ${us(total - idle)}, the sidecar's own code ${us(own)}`);
  for (const [k, t] of [...byFile]
    .filter(([k]) => k.startsWith('src/'))
    .sort((a, b) => b[1] - a[1]))
    console.log(us(t), k);
}
const N = Number(process.argv[3] ?? 40);
console.log('total ms', (total / 1000).toFixed(0));
console.log('--- self by file');
for (const [k, t] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(pct(t), k);
console.log('--- self by fn');
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(pct(t), k);
if (process.env.INCL) {
  console.log('--- inclusive');
  for (const [k, t] of [...incl]
    .sort((a, b) => b[1] - a[1])
    .filter(([k]) => new RegExp(process.env.INCL).test(k))
    .slice(0, N))
    console.log(pct(t), k);
}
if (process.env.CALLERS) {
  const re = new RegExp(process.env.CALLERS);
  const m = new Map();
  for (const [id, t] of count) {
    const n = byId.get(id);
    if (!re.test(key(n))) continue;
    let chain = [];
    let cur = parent.get(id);
    for (let i = 0; i < Number(process.env.DEPTH ?? 4) && cur !== undefined; i++) {
      chain.push(key(byId.get(cur)).replace(/ \S+:/, ':'));
      cur = parent.get(cur);
    }
    const k = chain.join(' < ');
    m.set(k, (m.get(k) ?? 0) + t);
  }
  console.log('--- callers of', process.env.CALLERS);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(pct(t), k);
}
