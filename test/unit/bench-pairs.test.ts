import { describe, expect, it } from 'vitest';
import { medianByPair, shareRounds } from '../../bench/pairs.js';

describe("the benchmark's pairs of proxy processes", () => {
  it('shares the rounds among the pairs as evenly as they go, the first ones longer', () => {
    expect(shareRounds(30, 3)).toEqual([10, 10, 10]);
    expect(shareRounds(10, 3)).toEqual([4, 3, 3]);
    expect(shareRounds(11, 3)).toEqual([4, 4, 3]);
    expect(shareRounds(10, 1)).toEqual([10]);
    expect(shareRounds(4, 4)).toEqual([1, 1, 1, 1]);
  });

  it('refuses more pairs than rounds, or none', () => {
    expect(() => shareRounds(4, 5)).toThrow(/4 rounds among 5 pairs/);
    expect(() => shareRounds(4, 0)).toThrow(/among 0 pairs/);
  });

  it("gives each pair's median from its own rounds only", () => {
    // Pair 0's rounds are the dearer; interleaved so that taking the rounds by position fails.
    const values = [1.3, 1.0, 1.2, 1.05, 1.25, 1.1];
    const pairOf = [0, 1, 0, 1, 0, 1];
    expect(medianByPair(values, pairOf)).toEqual([
      { pair: 0, median: 1.25, rounds: 3 },
      { pair: 1, median: 1.05, rounds: 3 },
    ]);
    expect(() => medianByPair(values, [0, 1])).toThrow(/6 rounds but 2 pairs/);
  });
});
