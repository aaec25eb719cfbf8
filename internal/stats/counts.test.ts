import { describe, expect, it } from 'vitest';
import { parseRecentChange, type RecentChange } from '../wikimedia/event-schema.js';
import { bytesOf, Counts, pairKey, snapshotCounts, splitPairKey } from './counts.js';

function event(fields: Record<string, unknown>): RecentChange {
  const raw = { meta: { id: 'x', dt: '2026-01-01T00:00:00Z', domain: 'a.org' }, ...fields };
  const parsed = parseRecentChange(JSON.stringify(raw), 1 << 20);
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.event;
}

describe('count kinds', () => {
  it.each([
    ['en.wikipedia.org', 'Alice'],
    ['', ''],
    ['a:b', ':c'],
    ['12:x', '3:yz'],
    ['\u0000', '__proto__'],
    ['x'.repeat(500), 'a/b'],
  ])('pair keys split back exactly, whatever the parts hold: %j %j', (a, b) => {
    expect(splitPairKey(pairKey(a, b))).toEqual([a, b]);
  });

  it('rejects what is not a pair key', () => {
    for (const bad of ['', 'abc', ':x', '9:abc', '-1:abc'])
      expect(() => splitPairKey(bad)).toThrow(RangeError);
  });

  it('bytes: new minus old when both are known; a new page counts from 0; anything else counts nothing', () => {
    expect(bytesOf(event({ type: 'edit', length: { old: 100, new: 130 } }))).toEqual({
      added: 30,
      removed: 0,
    });
    expect(bytesOf(event({ type: 'edit', length: { old: 100, new: 40 } }))).toEqual({
      added: 0,
      removed: 60,
    });
    expect(bytesOf(event({ type: 'new', length: { new: 77 } }))).toEqual({ added: 77, removed: 0 });
    expect(bytesOf(event({ type: 'edit', length: { new: 77 } }))).toEqual({ added: 0, removed: 0 });
    expect(bytesOf(event({ type: 'log' }))).toEqual({ added: 0, removed: 0 });
    expect(bytesOf(event({ type: 'edit', length: { old: '5', new: 9 } }))).toEqual({ added: 0, removed: 0 });
    expect(bytesOf(event({ type: 'edit', length: { old: 1.5, new: 9 } }))).toEqual({ added: 0, removed: 0 });
    expect(bytesOf(event({ type: 'edit', length: { old: 0, new: 2 ** 40 } }))).toEqual({
      added: 0,
      removed: 0,
    });
  });

  it('sums, keeps the earliest first-seen and the latest last-seen, and round-trips through a snapshot', () => {
    const counts = new Counts();
    counts.addEvent(event({ user: 'u', type: 'edit', title: 'P', bot: true }), 'all-time', 2_000);
    counts.addEvent(event({ user: 'u', type: 'new', title: 'P', length: { new: 5 } }), 'all-time', 1_000);
    counts.addEvent(event({ user: 'u', type: 'edit' }), 'all-time', undefined); // untrusted time
    expect(counts.get('user', 'u')).toBe(3);
    expect(counts.get('user_first', 'u')).toBe(1_000);
    expect(counts.get('user_last', 'u')).toBe(2_000);
    expect(counts.get('user_bot', 'u')).toBe(1);
    expect(counts.get('user_added', 'u')).toBe(5);
    expect(counts.pairs('type_user').get('edit')?.get('u')).toBe(2);
    expect(counts.pairs('page').size).toBe(0); // pages are for windows only
    const copy = Counts.fromSnapshot(JSON.parse(JSON.stringify(counts.snapshot())));
    expect([...copy.entries()].sort()).toEqual([...counts.entries()].sort());

    const window = new Counts();
    window.addEvent(event({ user: 'u', title: 'P' }), 'window', 1_000);
    expect(window.pairs('page').get('a.org')?.get('P')).toBe(1);
    expect(window.get('user_first', 'u')).toBeUndefined();
    window.subtract(Counts.fromSnapshot(window.snapshot()));
    expect([...window.entries()]).toEqual([]);
    expect(window.total).toBe(0);
  });

  it('reads a snapshot written before the new kinds (no `kinds`) and skips kinds it does not know', () => {
    const counts = new Counts();
    counts.merge(
      snapshotCounts({
        total: 2,
        bots: 0,
        humans: 2,
        byDomain: [['a.org', 2]],
        byUser: [['u', 2]],
        byType: [['edit', 2]],
        kinds: [['from_the_future', [['k', 1]]]],
      }),
    );
    expect([...counts.entries()]).toEqual([
      ['domain', 'a.org', 2],
      ['user', 'u', 2],
      ['type', 'edit', 2],
    ]);
  });
});
