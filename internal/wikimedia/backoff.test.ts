import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles up to the cap, jittered within the upper half, and starts over on reset', () => {
    const low = new Backoff(100, 1_000, () => 0);
    expect([1, 2, 3, 4, 5].map(() => low.next())).toEqual([50, 100, 200, 400, 500]);
    const high = new Backoff(100, 1_000, () => 1);
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([100, 200, 400, 800, 1_000]);
    high.reset();
    expect(high.next()).toBe(100);
  });
});
