import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, niceCeil, sortedEntries } from '../../web/format.js';
import { RateSeries } from '../../web/rate-series.js';
import { formatRoute, parseRoute, type Route, safeHttpUrl, userPageUrl, wikiUrl } from '../../web/route.js';

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

describe('dashboard routes (the URL hash)', () => {
  it('round-trips every view and window, whatever the name holds', () => {
    const routes: Route[] = [
      { view: 'overview', window: 'all' },
      { view: 'overview', window: '5m' },
      { view: 'wiki', domain: 'en.wikipedia.org', window: '1h' },
      { view: 'user', user: 'Some name', window: '24h' },
      { view: 'user', user: '\u202Eevil/a?b#c%d&window=5m', window: 'all' },
      { view: 'user', user: '__proto__', window: '5m' },
    ];
    for (const route of routes) expect(parseRoute(formatRoute(route))).toEqual(route);
    expect(formatRoute({ view: 'wiki', domain: 'en.wikipedia.org', window: '1h' })).toBe(
      '#/wiki/en.wikipedia.org?window=1h',
    );
    expect(formatRoute({ view: 'user', user: 'A b', window: 'all' })).toBe('#/user/A%20b');
  });

  it('falls back to the overview (or the default window) on anything else', () => {
    expect(parseRoute('')).toEqual({ view: 'overview', window: 'all' });
    expect(parseRoute('#/nowhere?window=7m')).toEqual({ view: 'overview', window: 'all' });
    expect(parseRoute('#/user/%E0%A4%A')).toEqual({ view: 'overview', window: 'all' });
    expect(parseRoute('#/wiki/x.org?window=24h&window=5m')).toEqual({
      view: 'wiki',
      domain: 'x.org',
      window: '24h',
    });
  });

  it('links only to http(s) pages and host names, never to what a hostile event could slip in', () => {
    expect(safeHttpUrl('https://en.wikipedia.org/wiki/Foo')).toBe('https://en.wikipedia.org/wiki/Foo');
    expect(safeHttpUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeHttpUrl('not a url')).toBeUndefined();
    expect(wikiUrl('en.wikipedia.org')).toBe('https://en.wikipedia.org/');
    expect(wikiUrl('evil.org/path')).toBeUndefined();
    expect(wikiUrl('localhost')).toBeUndefined();
    expect(userPageUrl('en.wikipedia.org', 'Some name/x')).toBe(
      'https://en.wikipedia.org/wiki/User:Some_name%2Fx',
    );
  });

  it('formats bytes for people', () => {
    expect([0, 999, 1_000, 12_345, 4_500_000, 7e12].map(formatBytes)).toEqual([
      '0 B',
      '999 B',
      '1.0 kB',
      '12 kB',
      '4.5 MB',
      '7.0 TB',
    ]);
  });
});
