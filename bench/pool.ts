// Pools the per-round figures of several benchmark runs of one build, so that a target is judged
// on all their rounds together rather than on one run's median:
//   node dist/bench/pool.js <run.json> <run.json> ...   (files written by npm run bench -- --out)
// Each figure is pooled over the runs' rounds: median, bootstrap 95% interval, min and max. For
// runs made with --compare it also prints the measured build's CPU per request over the compared
// build's, paired round by round.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { spread, type Spread } from './spread.js';

interface RunFile {
  over_bare_proxy_by_round?: Record<string, Partial<Spread>>;
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
): { ratio: Spread; dearer: number } | undefined {
  const ratios: number[] = [];
  for (const { name, result } of runs) {
    const mine = result.over_bare_proxy_by_round?.cpu_ratio?.values;
    const theirs = result.compared_build?.cpu_ratio_over_bare?.values;
    if (theirs === undefined) return undefined;
    if (mine === undefined || mine.length !== theirs.length)
      throw new Error(`${name}: the two builds' CPU rounds do not pair up`);
    mine.forEach((m, i) => ratios.push(m / theirs[i]!));
  }
  return { ratio: spread(ratios), dearer: ratios.filter((r) => r > 1).length };
}

/** The rounds of every run, figure by figure (the figures all the runs have). */
export function pool(runs: { name: string; result: RunFile }[]): Record<string, Spread> {
  const byFigure = new Map<string, number[]>();
  runs.forEach(({ name, result }, i) => {
    const figures = result.over_bare_proxy_by_round;
    if (!figures) throw new Error(`${name}: no over_bare_proxy_by_round (not a benchmark result)`);
    for (const [figure, s] of Object.entries(figures)) {
      if (!Array.isArray(s.values))
        throw new Error(
          `${name}: ${figure} has no per-round values (a run from before they were kept)`,
        );
      if (i === 0) byFigure.set(figure, [...s.values]);
      else byFigure.get(figure)?.push(...s.values);
    }
    for (const figure of [...byFigure.keys()]) if (!(figure in figures)) byFigure.delete(figure);
  });
  return Object.fromEntries([...byFigure].map(([figure, xs]) => [figure, spread(xs)]));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node dist/bench/pool.js <run.json> [<run.json> ...]');
    process.exit(2);
  }
  try {
    const runs = files.map((name) => ({
      name,
      result: JSON.parse(readFileSync(name, 'utf8')) as RunFile,
    }));
    const pooled = pool(runs);
    const f = (x: number) => (Math.abs(x) < 10 ? x.toFixed(3) : x.toFixed(1));
    console.log(`${files.length} runs pooled, per round over the bare proxy:`);
    for (const [figure, s] of Object.entries(pooled))
      console.log(
        `  ${figure.padEnd(18)} median ${f(s.median)}  [95% CI ${f(s.ci95[0])} to ${f(s.ci95[1])}]  min ${f(s.min)}  max ${f(s.max)}  (${s.rounds} rounds)`,
      );
    const paired = pairedCpu(runs);
    if (paired)
      console.log(
        `measured build over the compared build, CPU per request by round: median ${f(paired.ratio.median)}  [95% CI ${f(paired.ratio.ci95[0])} to ${f(paired.ratio.ci95[1])}]; dearer in ${paired.dearer} of ${paired.ratio.rounds} rounds`,
      );
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
