// Pools the per-round figures of several benchmark runs of one build, so that a target is judged
// on all their rounds together rather than on one run's median:
//   node dist/bench/pool.js <run.json> <run.json> ...   (files written by npm run bench -- --out)
// Each figure is pooled over the runs' rounds: median, bootstrap 95% interval, min and max.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { spread, type Spread } from './spread.js';

interface RunFile {
  over_bare_proxy_by_round?: Record<string, Partial<Spread>>;
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
    const pooled = pool(
      files.map((name) => ({ name, result: JSON.parse(readFileSync(name, 'utf8')) as RunFile })),
    );
    const f = (x: number) => (Math.abs(x) < 10 ? x.toFixed(3) : x.toFixed(1));
    console.log(`${files.length} runs pooled, per round over the bare proxy:`);
    for (const [figure, s] of Object.entries(pooled))
      console.log(
        `  ${figure.padEnd(18)} median ${f(s.median)}  [95% CI ${f(s.ci95[0])} to ${f(s.ci95[1])}]  min ${f(s.min)}  max ${f(s.max)}  (${s.rounds} rounds)`,
      );
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
