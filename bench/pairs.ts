// The benchmark's pairs of proxy processes (`npm run bench -- --processes N`): the saturation
// rounds are shared among N pairs of a bare proxy and a sidecar, started one pair after the other,
// so that one run's figure is not one pair's luck (docs/span-export.md, eleventh look).
import { spread } from './spread.js';

/** How many of `rounds` rounds each of `pairs` pairs runs: as even as they go, the first ones longer. */
export function shareRounds(rounds: number, pairs: number): number[] {
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > rounds)
    throw new Error(`cannot share ${rounds} rounds among ${pairs} pairs of processes`);
  return Array.from(
    { length: pairs },
    (_, p) => Math.floor(rounds / pairs) + (p < rounds % pairs ? 1 : 0),
  );
}

/** One pair's median over its rounds. */
export interface PairMedian {
  pair: number;
  median: number;
  rounds: number;
}

/** The median of each pair's rounds, by pair number: `values[i]` was measured by pair `pairOf[i]`. */
export function medianByPair(values: number[], pairOf: number[]): PairMedian[] {
  if (values.length !== pairOf.length)
    throw new Error(`${values.length} rounds but ${pairOf.length} pairs named`);
  return [...new Set(pairOf)]
    .sort((a, b) => a - b)
    .map((pair) => {
      const mine = values.filter((_, i) => pairOf[i] === pair);
      return { pair, median: spread(mine).median, rounds: mine.length };
    });
}
