import { describe, expect, it } from 'vitest';
import { planBatch } from '../../stats/batch-plan.js';
import { pairKey } from '../../stats/counts.js';
import { DedupWindow } from '../../stats/dedup-window.js';
import { MINUTE_MS, MinuteCounts } from '../../stats/minute-buckets.js';
import type { RecentChange } from '../../wikimedia/event-schema.js';
import { buildApplyBatch, MAX_BATCH_STATEMENTS, rowKey } from './apply-batch.js';
import { decodeDelta, decodeMinute } from './delta-codec.js';
import { EMPTY_STATICS, type PartitionStatics, ROW_KINDS } from './partition-rows.js';
import { statements } from './statements.js';

const cql = statements('ks');
const P = { topic: 'wikipedia.changes', partition: 3 };
const NOW = Date.parse('2026-05-05T12:00:00Z');

function event(
  id: string,
  user: string,
  domain = 'en.wikipedia.org',
  dt = '2026-05-05T11:17:40.000Z',
): RecentChange {
  return { meta: { id, dt, domain }, user, type: 'edit', bot: user.endsWith('bot') };
}

function build(
  events: RecentChange[],
  options: {
    statics?: PartitionStatics;
    counts?: Map<string, number>;
    window?: number;
    seen?: string[];
  } = {},
) {
  const statics = options.statics ?? EMPTY_STATICS;
  const dedup = new DedupWindow(options.window ?? 4, options.seen ?? []);
  const position = { nextOffset: statics.nextOffset, hasSeen: (id: string) => dedup.has(id) };
  const records = events.map((e, i) => ({ offset: statics.nextOffset + i, event: e }));
  const plan = planBatch(P, position, records, statics.nextOffset + events.length);
  const batch = buildApplyBatch({
    cql,
    topic: P.topic,
    partition: P.partition,
    statics,
    plan,
    touched: { counts: options.counts ?? new Map(), minutes: new Map() },
    dedupWindow: options.window ?? 4,
    windowAfter: () => {
      for (const id of plan.newIds) dedup.add(id);
      return dedup.toArray();
    },
    nowMs: NOW,
  });
  return {
    plan,
    batch,
    of: (query: string) => batch.queries.filter((q) => q.query === query).map((q) => q.params),
  };
}

describe('buildApplyBatch', () => {
  it("a partition's first batch: compare-and-set against null, absolute values from zero", () => {
    const { batch, of } = build([event('a', 'Alice'), event('b', 'Alice'), event('c', 'Bob')]);
    expect(batch.queries[0]?.query).toBe(cql.cas);
    expect(batch.queries[0]?.params).toEqual([
      3,
      1,
      3,
      4,
      3,
      0,
      0,
      3,
      Date.parse('2026-05-05T11:17:40.000Z'),
      P.topic,
      3,
      null,
    ]);
    expect(of(cql.count)).toEqual(
      expect.arrayContaining([
        [3, 3, P.topic, 3, 'domain', 'en.wikipedia.org'],
        [2, 3, P.topic, 3, 'user', 'Alice'],
        [1, 3, P.topic, 3, 'user', 'Bob'],
        [3, 3, P.topic, 3, 'type', 'edit'],
      ]),
    );
    expect(batch.statics).toMatchObject({ exists: true, nextOffset: 3, batches: 1, idsAdded: 3, total: 3 });
  });

  it('every all-time kind is one row, written by its rule: sums added, first seen min, last seen max', () => {
    const statics: PartitionStatics = {
      ...EMPTY_STATICS,
      exists: true,
      nextOffset: 5,
      batches: 1,
      idsAdded: 5,
    };
    const stored = Date.parse('2026-05-05T11:00:00.000Z');
    const counts = new Map([
      [rowKey('user_first', 'Alice'), stored],
      [rowKey('user_last', 'Alice'), stored],
      [rowKey('domain_user', pairKey('en.wikipedia.org', 'Alice')), 7],
      [rowKey('user_added', 'Alice'), 100],
    ]);
    const early = {
      ...event('e', 'Alice', 'en.wikipedia.org', '2026-05-05T10:00:00.000Z'),
      length: { old: 10, new: 30 },
    };
    const late = {
      ...event('l', 'Alice', 'en.wikipedia.org', '2026-05-05T11:30:00.000Z'),
      length: { old: 50, new: 20 },
    };
    const { batch, of } = build([early, late], { statics, counts });
    const rows = new Map(of(cql.count).map((p) => [`${p[4]}/${p[5]}`, p[0]]));
    expect(rows.get('user_first/Alice')).toBe(Date.parse(early.meta.dt)); // older than stored: min
    expect(rows.get('user_last/Alice')).toBe(Date.parse(late.meta.dt)); // newer than stored: max
    expect(rows.get(`domain_user/${pairKey('en.wikipedia.org', 'Alice')}`)).toBe(9);
    expect(rows.get('user_added/Alice')).toBe(120);
    expect(rows.get('user_removed/Alice')).toBe(30);
    expect(rows.get('domain_removed/en.wikipedia.org')).toBe(30);
    expect(rows.get(`type_user/${pairKey('edit', 'Alice')}`)).toBe(2);
    // Pages are kept in the minute rows only: no all-time row grows with every page ever edited.
    expect([...rows.keys()].filter((k) => k.startsWith('page/'))).toEqual([]);
    // Each kind the two events touch (no bot among them), once per key.
    expect(new Set(of(cql.count).map((p) => p[4]))).toEqual(
      new Set(ROW_KINDS.filter((k) => k !== 'domain_bot' && k !== 'user_bot')),
    );
    expect(rows.size).toBe(of(cql.count).length);
    expect(batch.statics.total).toBe(2);
  });

  it("later batches: the condition is the plan's first offset; counts are current + delta, never increments", () => {
    const statics: PartitionStatics = {
      ...EMPTY_STATICS,
      exists: true,
      nextOffset: 10,
      batches: 4,
      idsAdded: 9,
      ringSize: 4,
      total: 9,
      humans: 9,
    };
    const counts = new Map([
      [rowKey('user', 'Alice'), 41],
      [rowKey('domain', 'en.wikipedia.org'), 9],
    ]);
    const { batch, of } = build([event('x', 'Alice'), event('y', 'Carol')], { statics, counts });
    expect(batch.queries[0]?.params.at(-1)).toBe(10);
    expect(of(cql.count)).toEqual(
      expect.arrayContaining([
        [42, 12, P.topic, 3, 'user', 'Alice'],
        [1, 12, P.topic, 3, 'user', 'Carol'],
        [11, 12, P.topic, 3, 'domain', 'en.wikipedia.org'],
      ]),
    );
    // The change row is batch number 4, from offset 10 to 12, carrying the delta.
    const [change] = of(cql.change);
    expect(change?.slice(1)).toEqual([4, 10, 12, P.topic, 3, '0004']);
    expect(decodeDelta(change?.[0] as string).byUser).toEqual(
      new Map([
        ['Alice', 1],
        ['Carol', 1],
      ]),
    );
    expect(batch.batch).toBe(4);
  });

  it('writes each new id once into its ring slot, only the last DEDUP_WINDOW of a large batch', () => {
    const statics: PartitionStatics = {
      ...EMPTY_STATICS,
      exists: true,
      nextOffset: 5,
      batches: 1,
      idsAdded: 5,
      ringSize: 4,
    };
    const events = ['i5', 'i6', 'i7', 'i8', 'i9', 'i10'].map((id) => event(id, 'U'));
    const { of } = build(events, { statics });
    const ids = of(cql.value).filter((p) => p[5] === 'id');
    // ids number 5..10; only 7..10 fit a window of 4; slot = number mod 4.
    expect(ids.map((p) => [p[0], p[1], p[6]])).toEqual([
      ['i7', 7, '3'],
      ['i8', 8, '0'],
      ['i9', 9, '1'],
      ['i10', 10, '2'],
    ]);
  });

  it('lays the whole window out again when DEDUP_WINDOW changed', () => {
    const statics: PartitionStatics = {
      ...EMPTY_STATICS,
      exists: true,
      nextOffset: 3,
      batches: 1,
      idsAdded: 3,
      ringSize: 2,
    };
    const { of } = build([event('n1', 'U')], { statics, window: 5, seen: ['o1', 'o2', 'o3'] });
    const ids = of(cql.value).filter((p) => p[5] === 'id');
    expect(ids.map((p) => [p[0], p[1], p[6]])).toEqual([
      ['o1', 0, '0'],
      ['o2', 1, '1'],
      ['o3', 2, '2'],
      ['n1', 3, '3'],
    ]);
    expect(build([event('n1', 'U')], { statics, window: 5 }).batch.statics.ringSize).toBe(5);
  });

  it('merges into the minute it holds, replaces a stale minute, never a newer one or a future one', () => {
    const minute = Math.floor(Date.parse('2026-05-05T11:17:40Z') / MINUTE_MS);
    const held = new MinuteCounts();
    held.merge({
      total: 5,
      bots: 0,
      humans: 5,
      byDomain: [['en.wikipedia.org', 5]],
      byUser: [['Alice', 5]],
      byType: [['edit', 5]],
    });
    const dedup = new DedupWindow(4);
    const events = [event('a', 'Alice'), event('f', 'Future', 'en.wikipedia.org', '2026-05-06T00:00:00Z')];
    const plan = planBatch(
      P,
      { nextOffset: 0, hasSeen: (id) => dedup.has(id) },
      events.map((e, i) => ({ offset: i, event: e })),
      2,
    );
    const write = (slot: { minute: number; counts: MinuteCounts }) =>
      buildApplyBatch({
        cql,
        topic: P.topic,
        partition: 3,
        statics: EMPTY_STATICS,
        plan,
        touched: { counts: new Map(), minutes: new Map([[minute, slot]]) },
        dedupWindow: 4,
        windowAfter: () => [],
        nowMs: NOW,
      })
        .queries.filter((q) => q.query === cql.value && q.params[5] === 'minute')
        .map((q) => q.params);
    const same = write({ minute, counts: held });
    expect(same).toHaveLength(1); // the future minute is not written
    expect(same[0]?.[1]).toBe(minute);
    expect(decodeMinute(same[0]?.[0] as string).byUser).toEqual(new Map([['Alice', 6]]));
    const stale = write({ minute: minute - 128, counts: held });
    expect(decodeMinute(stale[0]?.[0] as string).total).toBe(1);
    expect(write({ minute: minute + 128, counts: held })).toEqual([]);
  });

  it('refuses a plan too large for one atomic write, saying what to do', () => {
    const events = Array.from({ length: MAX_BATCH_STATEMENTS }, (_, i) => event(`e${i}`, `user-${i}`));
    expect(() => build(events, { window: 10 })).toThrow(
      expect.objectContaining({
        code: 'STORE_PLAN_TOO_LARGE',
        message: expect.stringContaining('plan smaller batches'),
      }),
    );
  });
});
