// Reads the callgrind dumps instructions.mjs keeps (KEEP=dir): instructions by function, per
// request, with the JIT's code named from the process's /tmp/perf-<pid>.map when the proxies ran
// with NODE_ARGS=--perf-basic-prof (kept next to the dump as <name>.map).
//   node bench/probes/callgrind-self.mjs <dump> <requests> [rows]
//     self instructions per request, by function
//   node bench/probes/callgrind-self.mjs <dump> <requests> <other dump> [rows]
//     the difference, by function, of the first over the other (same requests in each)
//   INCL=regex ...: for the functions matching, their instructions and their callees'
//   CALLERS=regex ...: for the functions matching, the callers' instructions spent in them
// A function the map does not name keeps callgrind's address.
import { readFileSync, existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

function perfMap(file) {
  if (!existsSync(file)) return undefined;
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [addr, size, ...name] = l.split(' ');
      return [parseInt(addr, 16), parseInt(size, 16), name.join(' ')];
    })
    .sort((a, b) => a[0] - b[0]);
  return (addr) => {
    let lo = 0;
    let hi = rows.length - 1;
    let found;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (rows[mid][0] <= addr) {
        found = rows[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found && addr < found[0] + found[1] ? found[2] : undefined;
  };
}

/** A callgrind dump, with the JIT's code named from <dump minus .callgrind>.map when there. */
export function parse(dump) {
  const lookup = perfMap(dump.replace(/\.callgrind$/, '.map'));
  const names = new Map();
  const self = new Map();
  const callers = new Map();
  const nameOf = (id) => {
    const raw = names.get(id) ?? id;
    const m = /^0x([0-9a-f]+)/.exec(raw);
    const js = m && lookup ? lookup(parseInt(m[1], 16)) : undefined;
    return js ? `${js}` : raw;
  };
  let fn;
  let callee;
  let callLine = false;
  // Which event to sum: the first (instructions) unless EVENT names another (with
  // VALGRIND_ARGS=--cache-sim=yes: I1mr, D1mr, D1mw, ...). Events left off a line are 0.
  let column = 1;
  for (const line of readFileSync(dump, 'utf8').split('\n')) {
    if (line.startsWith('events:') && process.env.EVENT) {
      const at = line.slice(7).trim().split(/\s+/).indexOf(process.env.EVENT);
      if (at < 0) throw new Error(`${dump} has no event ${process.env.EVENT}: ${line}`);
      column = at + 1;
      continue;
    }
    const named = /^(fn|cfn)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (named) {
      if (named[3] !== undefined) names.set(named[2], named[3]);
      if (named[1] === 'fn') fn = named[2];
      else callee = named[2];
      continue;
    }
    if (line.startsWith('calls=')) {
      callLine = true;
      continue;
    }
    if (!/^[0-9+*-]/.test(line) || fn === undefined) continue;
    const cost = Number(line.split(' ')[column] ?? 0);
    if (callLine) {
      callLine = false;
      const key = `${callee}\u0000${fn}`;
      callers.set(key, (callers.get(key) ?? 0) + cost);
    } else self.set(fn, (self.get(fn) ?? 0) + cost);
  }
  const byName = new Map();
  for (const [id, c] of self) byName.set(nameOf(id), (byName.get(nameOf(id)) ?? 0) + c);
  const callersOf = (re) => {
    const out = new Map();
    for (const [key, c] of callers) {
      const [to, from] = key.split('\u0000');
      if (!re.test(nameOf(to))) continue;
      const k = `${nameOf(from)} -> ${nameOf(to)}`;
      out.set(k, (out.get(k) ?? 0) + c);
    }
    return out;
  };
  /** Inclusive: a function's own instructions and those of everything it called. */
  const inclusive = (re) => {
    const out = new Map();
    for (const [id, c] of self)
      if (re.test(nameOf(id))) out.set(nameOf(id), (out.get(nameOf(id)) ?? 0) + c);
    for (const [key, c] of callers) {
      const [to, from] = key.split('\u0000');
      if (to === from || !re.test(nameOf(from))) continue;
      out.set(nameOf(from), (out.get(nameOf(from)) ?? 0) + c);
    }
    return out;
  };
  return { byName, callersOf, inclusive };
}

/**
 * Instructions in V8's runtime defining an object literal's computed keys, callers included: the
 * slow path that Node's process.nextTick takes in some processes and not others (its tick object
 * has symbol keys; see docs/span-export.md).
 */
export function literalSlowPath(parsed) {
  let n = 0;
  for (const c of parsed.callersOf(/Runtime_DefineKeyedOwnPropertyInLiteral/).values()) n += c;
  return n;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();

function main() {
  const [dump, requestsArg, third, fourth] = process.argv.slice(2);
  const requests = Number(requestsArg);
  if (!dump || !requests) {
    console.error('usage: callgrind-self.mjs <dump> <requests> [other dump] [rows]');
    process.exit(2);
  }
  const other = third && !/^\d+$/.test(third) ? third : undefined;
  const rows = Number((other ? fourth : third) ?? 40);
  const a = parse(dump);
  const b = other ? parse(other) : undefined;
  const total = (m) => [...m.values()].reduce((s, x) => s + x, 0);
  const fmt = (x) => (x / requests).toFixed(0).padStart(8);
  console.log(`total ${fmt(total(a.byName))}${b ? ` against ${fmt(total(b.byName))}` : ''}`);
  const show = (ma, mb) => {
    const keys = new Set([...ma.keys(), ...(mb?.keys() ?? [])]);
    const diff = (k) => (ma.get(k) ?? 0) - (mb?.get(k) ?? 0);
    [...keys]
      .sort((x, y) => Math.abs(diff(y)) - Math.abs(diff(x)))
      .slice(0, rows)
      .forEach((k) =>
        console.log(
          `${fmt(diff(k))}${mb ? ` ${fmt(ma.get(k) ?? 0)} ${fmt(mb.get(k) ?? 0)}` : ''}  ${k.slice(0, 150)}`,
        ),
      );
  };
  if (process.env.INCL) {
    const re = new RegExp(process.env.INCL);
    show(a.inclusive(re), b?.inclusive(re));
  } else if (process.env.CALLERS) {
    const re = new RegExp(process.env.CALLERS);
    show(a.callersOf(re), b?.callersOf(re));
  } else show(a.byName, b?.byName);
}
