import { describe, expect, it } from 'vitest';
import { cpuByPair, pairedCpu, pool } from '../../bench/pool.js';
import { spread } from '../../bench/spread.js';

const run = (cpu: number[], p50: number[]) => ({
  over_bare_proxy_by_round: { cpu_ratio: spread(cpu), p50_ms: spread(p50) },
});

describe('pooling benchmark runs', () => {
  it('judges a figure on every round of every run, not on the median of medians', () => {
    // Medians 1.20 and 1.015 (their mean 1.11); the 7 rounds together have 1.03 in the middle.
    const a = run([1.2, 1.25, 1.05], [0.01, 0.02, 0.03]);
    const b = run([1.0, 1.01, 1.02, 1.03], [0.04, 0.05, 0.06, 0.07]);
    const pooled = pool([
      { name: 'a.json', result: a },
      { name: 'b.json', result: b },
    ]);
    expect(pooled.cpu_ratio!.rounds).toBe(7);
    expect(pooled.cpu_ratio!.median).toBe(1.03);
    expect(pooled.cpu_ratio!.values).toEqual([1.2, 1.25, 1.05, 1.0, 1.01, 1.02, 1.03]);
    expect(pooled.cpu_ratio!.min).toBe(1.0);
    expect(pooled.cpu_ratio!.max).toBe(1.25);
    expect(pooled.p50_ms!.median).toBe(0.04);
    expect(pooled.cpu_ratio!.ci95[0]).toBeLessThanOrEqual(1.03);
    expect(pooled.cpu_ratio!.ci95[1]).toBeGreaterThanOrEqual(1.03);
  });

  it('names the file of a run from before per-round values were kept', () => {
    const old = { over_bare_proxy_by_round: { cpu_ratio: { median: 1.1, rounds: 12 } } };
    expect(() =>
      pool([
        { name: 'new.json', result: run([1], [0]) },
        { name: 'old.json', result: old },
      ]),
    ).toThrow(/^old\.json: cpu_ratio has no per-round values/);
    expect(() => pool([{ name: 'x.json', result: {} }])).toThrow(/^x\.json: no over_bare/);
  });

  it('keeps only the figures every run has', () => {
    const a = run([1.1], [0.01]);
    const b = { over_bare_proxy_by_round: { cpu_ratio: spread([1.3]) } };
    expect(
      Object.keys(
        pool([
          { name: 'a', result: a },
          { name: 'b', result: b },
        ]),
      ),
    ).toEqual(['cpu_ratio']);
  });

  it('pairs the measured and the compared build round by round, over runs', () => {
    const withCompare = (mine: number[], theirs: number[]) => ({
      ...run(
        mine,
        mine.map(() => 0),
      ),
      compared_build: { cpu_ratio_over_bare: spread(theirs) },
    });
    const paired = pairedCpu([
      { name: 'a', result: withCompare([1.1, 1.2], [1.0, 1.25]) },
      { name: 'b', result: withCompare([0.9], [1.0]) },
    ])!;
    expect(paired.ratio.rounds).toBe(3);
    expect(paired.ratio.values.map((v) => Number(v.toFixed(3)))).toEqual([1.1, 0.96, 0.9]);
    expect(Number(paired.ratio.median.toFixed(3))).toBe(0.96);
    expect(paired.dearer).toBe(1);
    // A run without a compared build: nothing to pair.
    expect(pairedCpu([{ name: 'c', result: run([1], [0]) }])).toBeUndefined();
    // Rounds that do not line up are named, not paired wrongly.
    expect(() =>
      pairedCpu([
        {
          name: 'd.json',
          result: { ...run([1, 2], [0, 0]), compared_build: { cpu_ratio_over_bare: spread([1]) } },
        },
      ]),
    ).toThrow(/^d\.json: the two builds' CPU rounds do not pair up/);
  });

  it("leaves out each run's first rounds when asked (runs made before the warm-up rounds)", () => {
    const a = run([1.5, 1.4, 1.05, 1.06], [9, 9, 0.01, 0.02]);
    const b = run([1.3, 1.0, 1.02], [9, 0.03, 0.04]);
    const runs = [
      { name: 'a', result: a },
      { name: 'b', result: b },
    ];
    const all = pool(runs);
    expect(all.cpu_ratio!.rounds).toBe(7);
    const late = pool(runs, 1);
    expect(late.cpu_ratio!.values).toEqual([1.4, 1.05, 1.06, 1.0, 1.02]);
    expect(late.p50_ms!.values).toEqual([9, 0.01, 0.02, 0.03, 0.04]);
    expect(pool(runs, 2).cpu_ratio!.values).toEqual([1.05, 1.06, 1.02]);
    expect(pool(runs, 2).cpu_ratio!.median).toBe(1.05);
    // A run with no round left is named, not pooled as empty.
    expect(() => pool(runs, 3)).toThrow(/^b: cpu_ratio has 3 rounds, none left after skipping 3/);
    const withCompare = {
      ...run([1.2, 1.1], [0, 0]),
      compared_build: { cpu_ratio_over_bare: spread([1.0, 1.0]) },
    };
    const paired = pairedCpu([{ name: 'c', result: withCompare }], 1)!;
    expect(paired.ratio.rounds).toBe(1);
    expect(Number(paired.ratio.median.toFixed(3))).toBe(1.1);
  });
});

describe('CPU by pair of proxy processes', () => {
  it("takes each pair's median from its own rounds, a run without pairs being one pair", () => {
    const withPairs = {
      ...run([1.3, 1.0, 1.2, 1.05, 1.25, 1.1], [0, 0, 0, 0, 0, 0]),
      process_by_round: [0, 1, 0, 1, 0, 1],
    };
    const onePair = run([1.12, 1.14, 1.13], [0, 0, 0]);
    const r = cpuByPair([
      { name: 'a.json', result: withPairs },
      { name: 'b.json', result: onePair },
    ]);
    expect(
      r.pairs.map(({ name, pair, median, rounds }) => ({ name, pair, median, rounds })),
    ).toEqual([
      { name: 'a.json', pair: 0, median: 1.25, rounds: 3 },
      { name: 'a.json', pair: 1, median: 1.05, rounds: 3 },
      { name: 'b.json', pair: 0, median: 1.13, rounds: 3 },
    ]);
    expect(r.medians.median).toBe(1.13);
    expect(r.medians.rounds).toBe(3);
  });

  it('leaves out the first rounds with the pairs they belong to, and names a run that does not add up', () => {
    const withPairs = {
      ...run([1.9, 1.3, 1.0, 1.2, 1.05], [0, 0, 0, 0, 0]),
      process_by_round: [0, 0, 1, 0, 1],
    };
    const pairs = cpuByPair([{ name: 'a.json', result: withPairs }], 1).pairs;
    // Left in, the first round (1.9) would make pair 0's median 1.3 over three rounds.
    expect(pairs.map((p) => [p.pair, p.rounds])).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(pairs[0]!.median).toBeCloseTo(1.25, 9);
    expect(pairs[1]!.median).toBeCloseTo(1.025, 9);
    const broken = { ...run([1.1, 1.2], [0, 0]), process_by_round: [0] };
    expect(() => cpuByPair([{ name: 'c.json', result: broken }])).toThrow(
      /c\.json: 2 CPU rounds but 1 pairs named/,
    );
  });

  it("gives each pair's CPU per request of the bare proxy and of the sidecar, when the run kept them", () => {
    const withPairs = {
      ...run([1.1, 1.2, 1.3, 1.4], [0, 0, 0, 0]),
      process_by_round: [0, 1, 0, 1],
      cpu_us_per_request_by_round: { bare: [50, 90, 60, 80], sidecar: [55, 108, 78, 112] },
    };
    const pairs = cpuByPair([
      { name: 'a.json', result: withPairs },
      { name: 'b.json', result: run([1.1], [0]) },
    ]).pairs;
    expect(pairs.map((p) => [p.bareUs, p.sidecarUs])).toEqual([
      [55, 66.5],
      [85, 110],
      [undefined, undefined],
    ]);
  });
});
