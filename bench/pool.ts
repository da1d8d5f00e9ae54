// Pools the per-round figures of several benchmark runs of one build, so that a target is judged
// on all their rounds together rather than on one run's median:
//   node dist/bench/pool.js [--skip-rounds K] <run.json> <run.json> ...
//   (files written by npm run bench -- --out)
// Each figure is pooled over the runs' rounds: median, bootstrap 95% interval, min and max. For
// runs made with --compare it also prints the measured build's CPU per request over the compared
// build's, paired round by round. --skip-rounds K leaves out each run's first K rounds of every
// figure: for runs made before the benchmark left out warm-up rounds of its own, whose first
// rounds read dearer (docs/span-export.md, tenth look). It also prints the CPU ratio's median by
// pair of proxy processes (`npm run bench -- --processes N`; a run without is one pair), and the
// spread of those medians: what a pair is dealt for its life moves its whole median.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { spread, type Spread } from './spread.js';
import { medianByPair } from './pairs.js';

interface RunFile {
  over_bare_proxy_by_round?: Record<string, Partial<Spread>>;
  /** Each measured round's pair of proxy processes (--processes); absent: one pair for the run. */
  process_by_round?: number[];
  /** Each measured round's CPU per request (µs) by process. */
  cpu_us_per_request_by_round?: { bare?: number[]; sidecar?: number[] };
  /** A run with --compare: the compared build's figures over the bare proxy, by round. */
  compared_build?: { cpu_ratio_over_bare?: Partial<Spread> };
}

/**
 * For runs made with --compare: the measured build's CPU per request over the compared build's,
 * round by round (each over the same round's bare proxy), pooled; and in how many rounds the
 * measured build was the dearer. Undefined when a run has no compared build.
 */
export function pairedCpu(
  runs: { name: string; result: RunFile }[],
  skip = 0,
): { ratio: Spread; dearer: number } | undefined {
  const ratios: number[] = [];
  for (const { name, result } of runs) {
    const mine = result.over_bare_proxy_by_round?.cpu_ratio?.values;
    const theirs = result.compared_build?.cpu_ratio_over_bare?.values;
    if (theirs === undefined) return undefined;
    if (mine === undefined || mine.length !== theirs.length)
      throw new Error(`${name}: the two builds' CPU rounds do not pair up`);
    mine.forEach((m, i) => {
      if (i >= skip) ratios.push(m / theirs[i]!);
    });
  }
  return { ratio: spread(ratios), dearer: ratios.filter((r) => r > 1).length };
}

/**
 * The rounds of every run, figure by figure (the figures all the runs have), each run's first
 * `skip` rounds left out.
 */
export function pool(runs: { name: string; result: RunFile }[], skip = 0): Record<string, Spread> {
  const byFigure = new Map<string, number[]>();
  runs.forEach(({ name, result }, i) => {
    const figures = result.over_bare_proxy_by_round;
    if (!figures) throw new Error(`${name}: no over_bare_proxy_by_round (not a benchmark result)`);
    for (const [figure, s] of Object.entries(figures)) {
      if (!Array.isArray(s.values))
        throw new Error(
          `${name}: ${figure} has no per-round values (a run from before they were kept)`,
        );
      if (s.values.length <= skip)
        throw new Error(
          `${name}: ${figure} has ${s.values.length} rounds, none left after skipping ${skip}`,
        );
      const kept = s.values.slice(skip);
      if (i === 0) byFigure.set(figure, kept);
      else byFigure.get(figure)?.push(...kept);
    }
    for (const figure of [...byFigure.keys()]) if (!(figure in figures)) byFigure.delete(figure);
  });
  return Object.fromEntries([...byFigure].map(([figure, xs]) => [figure, spread(xs)]));
}

/** One pair's medians: the CPU ratio, and each proxy's CPU per request (µs) when the run kept it. */
export interface PairFigures {
  name: string;
  pair: number;
  median: number;
  rounds: number;
  bareUs: number | undefined;
  sidecarUs: number | undefined;
}

/**
 * CPU per request over the bare proxy, by pair of proxy processes: each pair's median (a run
 * made before --processes is one pair), and the spread of those medians. A pair keeps what its
 * processes were dealt for their life, so the pairs, not the rounds, are the samples of that.
 * Also each pair's median CPU per request of the bare proxy and of the sidecar, in µs, for runs
 * that kept them (`cpu_us_per_request_by_round`): whose luck moved the ratio.
 */
export function cpuByPair(
  runs: { name: string; result: RunFile }[],
  skip = 0,
): { pairs: PairFigures[]; medians: Spread } {
  const pairs: PairFigures[] = [];
  for (const { name, result } of runs) {
    const values = (result.over_bare_proxy_by_round?.cpu_ratio?.values ?? []).slice(skip);
    const pairOf = (result.process_by_round ?? values.map(() => 0)).slice(skip);
    if (pairOf.length !== values.length)
      throw new Error(`${name}: ${values.length} CPU rounds but ${pairOf.length} pairs named`);
    const us = result.cpu_us_per_request_by_round;
    const byProcess = (xs: number[] | undefined) =>
      xs?.length === values.length + skip ? medianByPair(xs.slice(skip), pairOf) : undefined;
    const bare = byProcess(us?.bare);
    const sidecar = byProcess(us?.sidecar);
    medianByPair(values, pairOf).forEach((p, i) =>
      pairs.push({ name, ...p, bareUs: bare?.[i]!.median, sidecarUs: sidecar?.[i]!.median }),
    );
  }
  return { pairs, medians: spread(pairs.map((p) => p.median)) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--skip-rounds');
  const skipText = at >= 0 ? (argv[at + 1] ?? '') : '0';
  const files = at >= 0 ? argv.filter((_, i) => i !== at && i !== at + 1) : argv;
  if (!/^\d+$/.test(skipText)) {
    console.error(`--skip-rounds takes a whole number of rounds, got "${skipText}"`);
    process.exit(2);
  }
  const skip = Number(skipText);
  if (files.length === 0) {
    console.error('usage: node dist/bench/pool.js [--skip-rounds K] <run.json> [<run.json> ...]');
    process.exit(2);
  }
  try {
    const runs = files.map((name) => ({
      name,
      result: JSON.parse(readFileSync(name, 'utf8')) as RunFile,
    }));
    const pooled = pool(runs, skip);
    const f = (x: number) => (Math.abs(x) < 10 ? x.toFixed(3) : x.toFixed(1));
    console.log(
      `${files.length} runs pooled${skip ? `, each run's first ${skip} rounds left out` : ''}, per round over the bare proxy:`,
    );
    for (const [figure, s] of Object.entries(pooled))
      console.log(
        `  ${figure.padEnd(18)} median ${f(s.median)}  [95% CI ${f(s.ci95[0])} to ${f(s.ci95[1])}]  min ${f(s.min)}  max ${f(s.max)}  (${s.rounds} rounds)`,
      );
    const byPair = cpuByPair(runs, skip);
    const m = byPair.medians;
    console.log(`CPU per request by pair of proxy processes, each pair's median:`);
    for (const p of byPair.pairs)
      console.log(
        `  ${p.name} pair ${p.pair + 1}: ${f(p.median)}× (${p.rounds} rounds)` +
          (p.bareUs !== undefined && p.sidecarUs !== undefined
            ? `; bare proxy ${p.bareUs.toFixed(1)} µs, sidecar ${p.sidecarUs.toFixed(1)} µs`
            : ''),
      );
    console.log(
      `  the ${m.rounds} pairs' medians: median ${f(m.median)}  [95% CI ${f(m.ci95[0])} to ${f(m.ci95[1])}]  min ${f(m.min)}  max ${f(m.max)}`,
    );
    const paired = pairedCpu(runs, skip);
    if (paired)
      console.log(
        `measured build over the compared build, CPU per request by round: median ${f(paired.ratio.median)}  [95% CI ${f(paired.ratio.ci95[0])} to ${f(paired.ratio.ci95[1])}]; dearer in ${paired.dearer} of ${paired.ratio.rounds} rounds`,
      );
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
