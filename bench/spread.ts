// The spread of a per-round measure across the benchmark's alternating rounds: min, median, max,
// and a bootstrap 95% interval of the median, so that a figure is read against this machine's
// noise rather than from one run.
import { prng } from '../src/simulator/random.js';

export interface Spread {
  min: number;
  median: number;
  max: number;
  /** 95% bootstrap interval of the median (2,000 resamples, fixed seed: reproducible). */
  ci95: [number, number];
  rounds: number;
  /** Each round's figure, in the order measured (to see a trend, or to combine several runs). */
  values: number[];
}

const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function spread(xs: number[]): Spread {
  if (xs.length === 0)
    return { min: NaN, median: NaN, max: NaN, ci95: [NaN, NaN], rounds: 0, values: [] };
  // Seeded, so the interval is the same for the same rounds.
  const rand = prng(0x5eed);
  const meds: number[] = [];
  for (let b = 0; b < 2000; b++)
    meds.push(med(Array.from(xs, () => xs[Math.floor(rand() * xs.length)]!)));
  meds.sort((a, b) => a - b);
  return {
    min: Math.min(...xs),
    median: med(xs),
    max: Math.max(...xs),
    ci95: [meds[Math.floor(0.025 * meds.length)]!, meds[Math.floor(0.975 * meds.length) - 1]!],
    rounds: xs.length,
    values: [...xs],
  };
}
