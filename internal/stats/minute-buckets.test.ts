import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sharedRecording } from '../../test/support/paths.js';
import { readRecordedEvents } from '../replay/recorded-events.js';
import { MemoryStatsStore } from '../store/memory-store.js';
import { parseRecentChange, type RecentChange } from '../wikimedia/event-schema.js';
import { planBatch } from './batch-plan.js';
import { FINE_MINUTES, FUTURE_SLACK_MS, MINUTE_MS, WINDOW_RETENTION_MINUTES } from './minute-buckets.js';
import { StatsAggregate, type StatsSnapshot } from './stats-aggregate.js';
import { StatsDelta } from './stats-delta.js';

const RECORDED = sharedRecording('pageledger-enwiki-2026-07-17.ndjson');

function parse(line: string): RecentChange {
  const parsed = parseRecentChange(line, 1 << 20);
  if (!parsed.ok) throw new Error(`fixture does not parse: ${parsed.detail}`);
  return parsed.event;
}

function event(id: string, dt: Date, domain: string, user: string, bot = false): RecentChange {
  return parse(JSON.stringify({ meta: { id, dt: dt.toISOString(), domain }, type: 'edit', user, bot }));
}

function aggregateOf(events: readonly RecentChange[], now = () => Date.now()): StatsAggregate {
  const delta = new StatsDelta();
  for (const e of events) delta.add(e);
  const aggregate = new StatsAggregate({ now });
  aggregate.apply(delta);
  return aggregate;
}

/** Counts the straightforward way, for comparison: every event of the last N minutes, one by one. */
function expectedWindow(events: readonly RecentChange[], minutes: number) {
  const minuteOf = (e: RecentChange) => Math.floor(Date.parse(e.meta.dt) / MINUTE_MS);
  const newest = Math.max(...events.map(minuteOf));
  const inside = events.filter((e) => minuteOf(e) > newest - minutes);
  const byDomain = new Map<string, number>();
  for (const e of inside) byDomain.set(e.meta.domain, (byDomain.get(e.meta.domain) ?? 0) + 1);
  const bots = inside.filter((e) => e.bot === true).length;
  return { total: inside.length, byDomain, bots, humans: inside.length - bots };
}

describe('per-minute window counts', () => {
  it.skipIf(!existsSync(RECORDED))('match a plain count of recorded events over the last N minutes', () => {
    const events = readRecordedEvents([RECORDED]).map(parse);
    const aggregate = aggregateOf(events);
    for (const minutes of [1, 5, 15]) {
      const want = expectedWindow(events, minutes);
      const got = aggregate.windowView(minutes, Number.POSITIVE_INFINITY);
      expect(got.total).toBe(want.total);
      expect(got.bots).toEqual({ bot: want.bots, human: want.humans });
      expect(new Map(got.byDomain)).toEqual(want.byDomain);
      expect(got.perMinute).toHaveLength(minutes);
      expect(got.perMinute.reduce((sum, m) => sum + m.total, 0)).toBe(want.total);
      expect(Date.parse(got.to as string) - Date.parse(got.from as string)).toBe(minutes * MINUTE_MS);
    }
    // The recording spans well under an hour: the longest window holds every event.
    const all = aggregate.view(Number.POSITIVE_INFINITY);
    const hour = aggregate.windowView(60, Number.POSITIVE_INFINITY);
    expect(hour.total).toBe(all.total);
    expect(hour.byUser).toEqual(all.byUser);
    expect(hour.distinctDomains).toBe(all.distinctDomains);
  });

  it('keeps the last hour by minute and the rest of 24 hours in 10-minute buckets, relative to the newest event', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const events = Array.from({ length: 90 }, (_, i) =>
      event(`e${i}`, new Date(start + i * MINUTE_MS + 1_000), 'a.org', `u${i % 7}`),
    );
    const aggregate = aggregateOf(events, () => start + 2 * 3_600_000);
    const hour = aggregate.windowView(FINE_MINUTES, 10);
    expect(hour.total).toBe(FINE_MINUTES);
    expect(hour.from).toBe(new Date(start + 30 * MINUTE_MS).toISOString());
    const snapshot = aggregate.snapshot();
    expect(snapshot.minutes).toHaveLength(FINE_MINUTES);
    // Minutes 0..29 left the hour: three 10-minute buckets.
    expect(snapshot.coarse?.map((c) => [c.startMs - start, c.total])).toEqual([
      [0, 10],
      [10 * MINUTE_MS, 10],
      [20 * MINUTE_MS, 10],
    ]);
    expect(aggregate.windowView(90, 10).total).toBe(90);
    // 61 minutes: the hour plus the 10-minute bucket holding minute 29, whole (rounded down).
    const rounded = aggregate.windowView(61, 10);
    expect(rounded.from).toBe(new Date(start + 20 * MINUTE_MS).toISOString());
    expect(rounded.total).toBe(70);
    expect(rounded.perMinute[0]).toEqual({ startMs: start + 20 * MINUTE_MS, minutes: 10, total: 10 });

    const late = new StatsDelta();
    late.add(event('late', new Date(start + 5 * MINUTE_MS), 'late.org', 'x')); // 85 minutes behind
    late.add(event('recent', new Date(start + 80 * MINUTE_MS), 'recent.org', 'y')); // within the hour
    aggregate.apply(late);
    expect(aggregate.view(10).total).toBe(92); // all-time counts take everything
    const after = aggregate.windowView(60, 10);
    expect(after.total).toBe(61);
    expect(after.byDomain.map(([d]) => d)).toEqual(['a.org', 'recent.org']);
    // The late one lands in its 10-minute bucket, inside longer windows.
    expect(aggregate.windowView(120, 10).total).toBe(92);
  });

  it('drops what is older than 24 hours behind the newest event: memory bounded by the window', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    // One event every 7 minutes for three days.
    const events = Array.from({ length: (3 * 24 * 60) / 7 }, (_, i) =>
      event(`e${i}`, new Date(start + i * 7 * MINUTE_MS), `d${i % 3}.org`, `u${i}`),
    );
    const aggregate = new StatsAggregate({ now: () => start + 4 * 24 * 3_600_000 });
    for (const e of events) {
      const delta = new StatsDelta(start + 4 * 24 * 3_600_000);
      delta.add(e);
      aggregate.apply(delta);
    }
    const snapshot = aggregate.snapshot();
    expect((snapshot.minutes?.length ?? 0) + (snapshot.coarse?.length ?? 0)).toBeLessThanOrEqual(
      FINE_MINUTES + WINDOW_RETENTION_MINUTES / 10 + 1,
    );
    const day = aggregate.windowView(WINDOW_RETENTION_MINUTES, Number.POSITIVE_INFINITY);
    const newest = Math.floor(Date.parse(events.at(-1)?.meta.dt as string) / MINUTE_MS);
    const from = Math.floor((newest - WINDOW_RETENTION_MINUTES + 1) / 10) * 10;
    const inside = events.filter((e) => Date.parse(e.meta.dt) / MINUTE_MS >= from);
    expect(day.from).toBe(new Date(from * MINUTE_MS).toISOString());
    expect(day.total).toBe(inside.length);
    expect(day.distinctUsers).toBe(inside.length);
  });

  it('does not let an event stamped in the future push the real minutes out', () => {
    const now = Date.parse('2026-03-01T12:00:30Z');
    const aggregate = aggregateOf(
      [
        event('a', new Date(now - 1_000), 'now.org', 'u'),
        event('b', new Date(now + FUTURE_SLACK_MS + 2 * MINUTE_MS), 'future.org', 'v'),
      ],
      () => now,
    );
    const window = aggregate.windowView(1, 10);
    expect(window.byDomain).toEqual([['now.org', 1]]);
    expect(aggregate.view(10).total).toBe(2);
  });

  it('a checkpoint whose last event time was pinned in the future by one bad event recovers', () => {
    const now = Date.parse('2026-03-01T12:00:30Z');
    const pinned = aggregateOf([event('a', new Date(now - 1_000), 'now.org', 'u')], () => now).snapshot();
    pinned.lastEventMs = Date.parse('9999-12-31T00:00:00Z'); // written by a version without the guard
    const restored = StatsAggregate.fromSnapshot(pinned, { now: () => now });
    expect(restored.view(10).lastEventAt).toBeNull();
    const later = new StatsDelta(now);
    later.add(event('b', new Date(now), 'now.org', 'u'));
    restored.apply(later);
    expect(restored.view(10).lastEventAt).toBe(new Date(now).toISOString());
  });

  it('survives a checkpoint round trip, and loads checkpoints written before windows', () => {
    const start = Date.parse('2026-02-02T10:00:00Z');
    const events = Array.from({ length: 30 }, (_, i) =>
      event(`e${i}`, new Date(start + (i % 6) * MINUTE_MS), `d${i % 4}.org`, `u${i % 5}`, i % 3 === 0),
    );
    const aggregate = aggregateOf(events);
    const restored = StatsAggregate.fromSnapshot(JSON.parse(JSON.stringify(aggregate.snapshot())));
    for (const minutes of [1, 3, 60]) {
      expect(restored.windowView(minutes, 100)).toEqual(aggregate.windowView(minutes, 100));
    }

    const { minutes: _dropped, ...legacy }: StatsSnapshot = aggregate.snapshot();
    const old = StatsAggregate.fromSnapshot(legacy);
    expect(old.view(100)).toEqual(aggregate.view(100));
    expect(old.windowView(5, 100)).toMatchObject({ total: 0, from: null, to: null, perMinute: [] });
  });

  it('counts a redelivered batch once, as the totals', async () => {
    const start = Date.parse('2026-02-02T10:00:00Z');
    const events = Array.from({ length: 12 }, (_, i) =>
      event(`e${i}`, new Date(start + (i % 3) * MINUTE_MS), 'x.org', `u${i}`),
    );
    const store = new MemoryStatsStore(100);
    const partition = { topic: 't', partition: 0 };
    const records = events.map((e, offset) => ({ offset, event: e }));
    await store.apply(planBatch(partition, await store.position(partition), records, records.length));
    // The same records again (a crash before the commit): skipped by offset, and again by id.
    await store.apply(planBatch(partition, await store.position(partition), records, records.length));
    const window = await store.readWindow(3, 10);
    expect(window.total).toBe(12);
    expect(window.perMinute.map((m) => m.total)).toEqual([4, 4, 4]);
    expect((await store.readWindow(60, 10)).total).toBe(12);
  });

  it('windows between 1h and 24h, read as the minutes go by, answer as if summed from the buckets', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const now = () => start + 40 * 3_600_000;
    const aggregate = new StatsAggregate({ now });
    // More window lengths than are kept summed (TRACKED_WINDOWS), so some are dropped and rebuilt.
    const lengths = [61, 120, 6 * 60, 23 * 60, 125, 7 * 60 + 3];
    let n = 0;
    const types = ['edit', 'log', 'new'];
    const at = (minute: number, i: number) =>
      parse(
        JSON.stringify({
          meta: {
            id: `e${n++}`,
            dt: new Date(start + minute * MINUTE_MS + 1_000).toISOString(),
            domain: `d${i % 3}.org`,
          },
          type: types[i % 3],
          user: `u${(minute * 7 + i) % 23}`,
          bot: i % 4 === 0,
          title: `P${(minute + i) % 17}`,
          length: { old: 100, new: 100 + ((i * 37) % 90) - 40 },
        }),
      );
    for (let minute = 0; minute < 30 * 60; minute += 7) {
      const delta = new StatsDelta(now());
      for (let i = 0; i < 3; i++) delta.add(at(minute, i));
      // Late events: 61 minutes to 20 hours behind, into 10-minute buckets already summed.
      delta.add(at(minute - 61 - ((minute * 13) % (19 * 60)), minute));
      aggregate.apply(delta);
      if (minute % (7 * 17) !== 0) continue;
      // A fresh aggregate from the same buckets sums them at its first read: the reference.
      const rebuilt = StatsAggregate.fromSnapshot(aggregate.snapshot(), { now });
      for (const minutes of lengths) {
        const query = { limit: 100, minutes };
        expect(aggregate.windowView(minutes, 100)).toEqual(rebuilt.windowView(minutes, 100));
        expect(aggregate.domainView('d1.org', query)).toEqual(rebuilt.domainView('d1.org', query));
        expect(aggregate.userView('u3', query)).toEqual(rebuilt.userView('u3', query));
        expect(aggregate.pagesView(query)).toEqual(rebuilt.pagesView(query));
      }
    }
    expect(aggregate.windowView(6 * 60, 100).total).toBeGreaterThan(0);
  });

  it('rejects windows outside 1..retention', () => {
    const aggregate = new StatsAggregate();
    expect(() => aggregate.windowView(0, 10)).toThrow(RangeError);
    expect(() => aggregate.windowView(WINDOW_RETENTION_MINUTES + 1, 10)).toThrow(RangeError);
    expect(() => aggregate.windowView(1.5, 10)).toThrow(RangeError);
  });
});
