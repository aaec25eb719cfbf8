import { describe, expect, it } from 'vitest';
import { Leaderboard } from './leaderboard.js';

function naiveTop(counts: Map<string, number>, limit: number): Array<[string, number]> {
  return [...counts].sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : 1)).slice(0, limit);
}

describe('Leaderboard', () => {
  it('keeps the same top-N as a full sort under random increments', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const board = new Leaderboard(50);
    const naive = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      // Skewed keys, as users are: a few very active, a long tail.
      const key = `user-${Math.floor(random() ** 3 * 2_000)}`;
      const by = 1 + Math.floor(random() * 3);
      board.increment(key, by);
      naive.set(key, (naive.get(key) ?? 0) + by);
    }
    expect(board.entries(50)).toEqual(naiveTop(naive, 50));
    expect(board.entries(10)).toEqual(naiveTop(naive, 10));
    // Beyond the kept top it falls back to a full sort, still right.
    expect(board.entries(500)).toEqual(naiveTop(naive, 500));
    expect(board.entries(Number.POSITIVE_INFINITY)).toHaveLength(naive.size);
    expect(board.size).toBe(naive.size);
  });

  it('orders ties by key and keeps keys that look like numbers as keys', () => {
    const board = new Leaderboard(3);
    for (const key of ['b', '10', 'a', '2']) board.increment(key);
    expect(board.entries(3)).toEqual([
      ['10', 1],
      ['2', 1],
      ['a', 1],
    ]);
  });

  it('refuses to decrease a count', () => {
    expect(() => new Leaderboard().increment('x', -1)).toThrow(RangeError);
  });
});
