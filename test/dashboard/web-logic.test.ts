import { describe, expect, it } from 'vitest';
import { formatDuration, niceCeil, sortedEntries } from '../../web/format.js';
import { RateSeries } from '../../web/rate-series.js';

describe('dashboard rate series', () => {
  it('turns successive totals into events per second', () => {
    const series = new RateSeries(60_000);
    expect(series.points()).toEqual([]);
    expect(series.recent(10_000)).toBeUndefined();
    series.add({ at: 0, total: 100 });
    series.add({ at: 1_000, total: 150 });
    series.add({ at: 3_000, total: 250 });
    expect(series.points()).toEqual([
      { age: 2_000, perSecond: 50 },
      { age: 0, perSecond: 50 },
    ]);
    series.add({ at: 4_000, total: 450 });
    // The last 10 s reach back to the first reading: 350 events in 4 s.
    expect(series.recent(10_000)).toBe(87.5);
    // The last 1 s: 200 events.
    expect(series.recent(1_000)).toBe(200);
  });

  it('keeps its span and starts afresh when the total goes down (a restart without counts)', () => {
    const series = new RateSeries(5_000);
    for (let s = 0; s <= 20; s++) series.add({ at: s * 1_000, total: s * 10 });
    const points = series.points();
    expect(points.length).toBeLessThanOrEqual(6);
    expect(Math.max(...points.map((p) => p.age))).toBeGreaterThanOrEqual(4_000);
    series.add({ at: 21_000, total: 3 });
    expect(series.points()).toEqual([]);
    series.add({ at: 22_000, total: 13 });
    expect(series.points()).toEqual([{ age: 0, perSecond: 10 }]);
  });
});

describe('dashboard formatting', () => {
  it('restores the server order that JSON.parse loses for integer-like names', () => {
    const parsed = JSON.parse('{"Zed":5,"1234":3,"Amy":5,"77":9}') as Record<string, number>;
    expect(Object.keys(parsed)[0]).toBe('77'); // what the browser does
    expect(sortedEntries(parsed)).toEqual([
      ['77', 9],
      ['Amy', 5],
      ['Zed', 5],
      ['1234', 3],
    ]);
  });

  it('formats lags and axis tops', () => {
    expect(formatDuration(400)).toBe('0.4 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(243_000)).toBe('4 min 3 s');
    expect(formatDuration(3 * 3_600_000 + 12 * 60_000)).toBe('3 h 12 min');
    expect(formatDuration(400 * 86_400_000)).toBe('400 d');
    expect(formatDuration(-5)).toBe('0.0 s');
    expect([0, 0.3, 1, 7, 12, 480, 501].map(niceCeil)).toEqual([1, 0.5, 1, 10, 20, 500, 1000]);
  });
});
