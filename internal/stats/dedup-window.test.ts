import { describe, expect, it } from 'vitest';
import { DedupWindow } from './dedup-window.js';

describe('DedupWindow', () => {
  it('reports a repeat within the window and forgets ids older than the window', () => {
    const window = new DedupWindow(3);
    expect(['a', 'b', 'c'].map((id) => window.add(id))).toEqual([true, true, true]);
    expect(window.add('a')).toBe(false);
    expect(window.add('d')).toBe(true); // evicts a
    expect(window.has('a')).toBe(false);
    expect(window.size).toBe(3);
  });

  it('round-trips through toArray, oldest first', () => {
    const window = new DedupWindow(3, ['a', 'b', 'c', 'd']);
    expect(window.toArray()).toEqual(['b', 'c', 'd']);
    const copy = new DedupWindow(3, window.toArray());
    copy.add('e');
    expect(copy.toArray()).toEqual(['c', 'd', 'e']);
  });
});
