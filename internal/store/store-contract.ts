// The StatsStore contract, run against every implementation (memory-store.test.ts,
// cassandra-store.test.ts). Imported by tests only: it uses vitest.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WikistreamError } from '../errors.js';
import { type BatchPlan, type OffsetRecord, type PartitionKey, planBatch } from '../stats/batch-plan.js';
import { MINUTE_MS } from '../stats/minute-buckets.js';
import type { PageEntry, StatsView, StatsWindowView } from '../stats/stats-views.js';
import { parseRecentChange, type RecentChange } from '../wikimedia/event-schema.js';
import type { ApplyResult, StatsStore } from './stats-store.js';

/** Small, so the tests reach past it with a few dozen real events. */
export const CONTRACT_DEDUP_WINDOW = 16;

/** One running store instance, as one consumer process holds it. */
export interface StoreInstance {
  readonly store: StatsStore;
  /**
   * Makes the next `apply` fail with a retriable error: 'before-write' = nothing reached storage;
   * 'after-write' = the write landed but its acknowledgement was lost (the caller cannot tell).
   */
  failNextApply(when: 'before-write' | 'after-write'): void;
  /**
   * Makes this instance's applied work durable for instances opened later, and brings its reads up
   * to date with other instances (memory: writes its checkpoint; Cassandra: refreshes its view).
   */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Durable state shared by the instances of one test (memory: a checkpoint; Cassandra: a topic). */
export interface StoreWorld {
  readonly topic: string;
  /** A new instance over the durable state, as a (re)started or second consumer would open it. */
  open(): Promise<StoreInstance>;
}

export interface ContractOptions {
  /**
   * Instances see each other's writes live (Cassandra), rather than only through a handoff of
   * durable state (the memory store's checkpoint). Enables the zombie-writer cases.
   */
  readonly sharedState: boolean;
  /** The store implements `rebase` (both stores do; a store without it skips the case). */
  readonly rebase: boolean;
  /**
   * The store serves every count kind of issue 12 (bytes, `readDomain`, `readUser`, `readPages`,
   * windows to 24 hours). Off: those cases are skipped with a visible message. The memory store
   * runs them; the Cassandra store turns this on once it keeps the new kinds.
   */
  readonly countKinds?: boolean;
}

/**
 * The behaviour every StatsStore owes the consumer: exact counts, idempotent and atomic applies,
 * compare-and-set on the plan's position, dedup by event id that survives restarts and
 * rebalances, and positions reloaded from durable state. `newWorld` makes fresh durable state
 * per test with `CONTRACT_DEDUP_WINDOW`.
 */
export function runStoreContract(
  name: string,
  newWorld: () => Promise<StoreWorld>,
  options: ContractOptions,
) {
  describe(`StatsStore contract: ${name}`, () => {
    const opened: StoreInstance[] = [];
    let world: StoreWorld;
    let partition: PartitionKey;

    const open = async () => {
      const instance = await world.open();
      opened.push(instance);
      return instance;
    };
    const setup = async () => {
      world = await newWorld();
      partition = { topic: world.topic, partition: 0 };
      return open();
    };

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((i) => i.close()));
    });

    it('applies a batch: exact counts, totals and the new position', async () => {
      const { store } = await setup();
      const events = realEvents(0, 40);
      const plan = await planFor(store, partition, events, 0);
      expect(await store.apply(plan)).toBe('applied');
      expectCounts(await store.read(Number.POSITIVE_INFINITY), events);
      expect((await store.position(partition)).nextOffset).toBe(40);
    });

    it('orders each ranking by count, then name, and honours the limit', async () => {
      const { store } = await setup();
      const events = realEvents(0, 120);
      await store.apply(await planFor(store, partition, events, 0));
      const all = await store.read(Number.POSITIVE_INFINITY);
      expectSorted(all.byUser);
      expectSorted(all.byDomain);
      const top = await store.read(3);
      expect(top.byUser).toEqual(all.byUser.slice(0, 3));
      expect(top.byDomain).toEqual(all.byDomain.slice(0, 3));
      expect(top.distinctUsers).toBe(all.byUser.length);
      expect(top.total).toBe(120);
    });

    it('applying the same plan again is a no-op', async () => {
      const { store } = await setup();
      const events = realEvents(0, 30);
      const plan = await planFor(store, partition, events, 0);
      expect(await store.apply(plan)).toBe('applied');
      expect(await store.apply(plan)).toBe('already-applied');
      expectCounts(await store.read(Number.POSITIVE_INFINITY), events);
      expect((await store.position(partition)).nextOffset).toBe(30);
    });

    it('a redelivered, overlapping batch counts only the records past the position', async () => {
      const { store } = await setup();
      const events = realEvents(0, 20);
      await store.apply(await planFor(store, partition, events.slice(0, 10), 0));
      const again = await planFor(store, partition, events.slice(5, 20), 5);
      expect(again).toMatchObject({ fromOffset: 10, nextOffset: 20, redelivered: 5, duplicates: 0 });
      expect(await store.apply(again)).toBe('applied');
      expectCounts(await store.read(Number.POSITIVE_INFINITY), events);
    });

    it('rejects a plan made from a stale position with a retriable STORE_CONFLICT; re-planned, it applies', async () => {
      const { store } = await setup();
      const events = realEvents(0, 25);
      const first = await planFor(store, partition, events.slice(0, 10), 0);
      const stale = await planFor(store, partition, events.slice(0, 25), 0);
      expect(await store.apply(first)).toBe('applied');
      const err = await store.apply(stale).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WikistreamError);
      expect(err).toMatchObject({ code: 'STORE_CONFLICT', retriable: true });
      expectCounts(await store.read(Number.POSITIVE_INFINITY), events.slice(0, 10));
      const replanned = await planFor(store, partition, events, 0);
      expect(replanned).toMatchObject({ fromOffset: 10, redelivered: 10 });
      expect(await store.apply(replanned)).toBe('applied');
      expectCounts(await store.read(Number.POSITIVE_INFINITY), events);
    });

    it('a write that failed before reaching storage is applied by the retry, once', async () => {
      const instance = await setup();
      const { store } = instance;
      const events = realEvents(0, 30);
      await store.apply(await planFor(store, partition, events.slice(0, 10), 0));
      const plan = await planFor(store, partition, events.slice(10), 10);
      instance.failNextApply('before-write');
      await expect(store.apply(plan)).rejects.toMatchObject({ retriable: true });
      expect((await store.position(partition)).nextOffset).toBe(10);
      expectCounts(await store.read(Number.POSITIVE_INFINITY), events.slice(0, 10));
      expect(await retryUntilDone(store, plan)).toBe('applied');
      expectCounts(await store.read(Number.POSITIVE_INFINITY), events);
    });

    it('a write whose acknowledgement was lost is not counted again by the retry', async () => {
      const instance = await setup();
      const { store } = instance;
      const events = realEvents(0, 30);
      await store.apply(await planFor(store, partition, events.slice(0, 10), 0));
      const plan = await planFor(store, partition, events.slice(10), 10);
      instance.failNextApply('after-write');
      await expect(store.apply(plan)).rejects.toMatchObject({ retriable: true });
      // The consumer retries the same plan; it must read as done, not be counted twice...
      expect(await retryUntilDone(store, plan)).toBe('already-applied');
      // ...and re-planning the redelivered records from the position leaves nothing to do.
      const replanned = await planFor(store, partition, events.slice(10), 10);
      expect(replanned).toMatchObject({ fromOffset: 30, nextOffset: 30, redelivered: 20 });
      await instance.sync();
      expectCounts(await store.read(Number.POSITIVE_INFINITY), events);
    });

    it('drops a repeated event id within a batch, across batches and across a restart', async () => {
      const first = await setup();
      const events = realEvents(0, 12);
      // A producer retry writes an event twice: offsets 0..12 hold events 0..11 plus event 3 again.
      const withRepeat = [...events.slice(0, 6), events[3] as RecentChange, ...events.slice(6)];
      const plan = await planFor(first.store, partition, withRepeat, 0);
      expect(plan.duplicates).toBe(1);
      await first.store.apply(plan);
      const later = await planFor(first.store, partition, [events[11] as RecentChange], 13);
      expect(later.duplicates).toBe(1);
      await first.store.apply(later);
      await first.sync();
      await first.close();

      const restarted = await open();
      const position = await restarted.store.position(partition);
      expect(position.nextOffset).toBe(14);
      const afterRestart = await planFor(restarted.store, partition, [events[7] as RecentChange], 14);
      expect(afterRestart).toMatchObject({ duplicates: 1, nextOffset: 15 });
      expect(await restarted.store.apply(afterRestart)).toBe('applied');
      await restarted.sync();
      expectCounts(await restarted.store.read(Number.POSITIVE_INFINITY), events);
      expect((await restarted.store.position(partition)).nextOffset).toBe(15);
    });

    it(`remembers exactly the last ${CONTRACT_DEDUP_WINDOW} ids across a restart`, async () => {
      const first = await setup();
      const events = realEvents(0, 40);
      // Several batches, so the window's ring wraps more than once.
      for (let from = 0; from < 40; from += 7) {
        await first.store.apply(await planFor(first.store, partition, events.slice(from, from + 7), from));
      }
      await first.sync();
      await first.close();
      const restarted = await open();
      const position = await restarted.store.position(partition);
      const ids = events.map((e) => e.meta.id);
      const remembered = ids.filter((id) => position.hasSeen(id));
      expect(remembered).toEqual(ids.slice(40 - CONTRACT_DEDUP_WINDOW));
    });

    it('records rejected by validation advance the position and count as rejected', async () => {
      const { store } = await setup();
      const events = realEvents(0, 5);
      const records: OffsetRecord[] = [
        ...events.map((event, i) => ({ offset: i, event })),
        { offset: 5, event: undefined },
        { offset: 6, event: undefined },
      ];
      const position = await store.position(partition);
      expect(await store.apply(planBatch(partition, position, records, 7))).toBe('applied');
      const view = await store.read(Number.POSITIVE_INFINITY);
      expect(view.rejected).toBe(2);
      expectCounts(view, events);
      expect((await store.position(partition)).nextOffset).toBe(7);
    });

    it.skipIf(!options.rebase)(
      're-bases a replaced log: compare-and-set, counts and dedup window kept, durable (needs rebase)',
      async () => {
        const first = await setup();
        const events = realEvents(0, 30);
        await first.store.apply(await planFor(first.store, partition, events.slice(0, 20), 0));
        await expect(first.store.rebase?.(partition, 19, 0)).rejects.toMatchObject({
          code: 'STORE_CONFLICT',
          retriable: true,
        });
        await first.store.rebase?.(partition, 20, 0);
        // The new log: the producer re-sent events 15..19 (counted already), then new ones.
        const plan = await planFor(first.store, partition, events.slice(15, 30), 0);
        expect(plan).toMatchObject({ fromOffset: 0, nextOffset: 15, duplicates: 5, redelivered: 0 });
        expect(await first.store.apply(plan)).toBe('applied');
        await first.sync();
        await first.close();
        const restarted = await open();
        expect((await restarted.store.position(partition)).nextOffset).toBe(15);
        expectCounts(await restarted.store.read(Number.POSITIVE_INFINITY), events);
      },
    );

    it('keeps partitions independent and sums them for reads', async () => {
      const { store } = await setup();
      const other = { topic: partition.topic, partition: 1 };
      const events = realEvents(0, 30);
      await store.apply(await planFor(store, partition, events.slice(0, 10), 0));
      await store.apply(await planFor(store, other, events.slice(10, 30), 0));
      const stale = await planFor(store, partition, events.slice(0, 2), 0);
      expect(stale.nextOffset).toBe(10);
      expect((await store.position(other)).nextOffset).toBe(20);
      expectCounts(await store.read(Number.POSITIVE_INFINITY), events);
    });

    it('after release(), position() is the durable position with its dedup window', async () => {
      const { store } = await setup();
      const events = realEvents(0, 10);
      await store.apply(await planFor(store, partition, events, 0));
      store.release([partition]);
      const position = await store.position(partition);
      expect(position.nextOffset).toBe(10);
      expect(events.every((e) => position.hasSeen(e.meta.id))).toBe(true);
    });

    it('a partition handed to another instance continues exactly where the first stopped', async () => {
      const a = await setup();
      const events = realEvents(0, 20);
      await a.store.apply(await planFor(a.store, partition, events.slice(0, 10), 0));
      await a.sync(); // a commits: for memory, its checkpoint is what b is opened from
      const b = await open();
      expect((await b.store.position(partition)).nextOffset).toBe(10);
      // Kafka redelivers from the last committed offset it knows, which may be older.
      const plan = await planFor(b.store, partition, events.slice(5, 20), 5);
      expect(plan).toMatchObject({ fromOffset: 10, redelivered: 5 });
      expect(await b.store.apply(plan)).toBe('applied');
      await b.sync();
      expectCounts(await b.store.read(Number.POSITIVE_INFINITY), events);
      const window = b.store.readWindow ? await b.store.readWindow(60, Number.POSITIVE_INFINITY) : undefined;
      if (window) expectWindow(window, events);
    });

    it('an event stamped in the future counts, but does not pin last_event_at', async () => {
      const { store } = await setup();
      const events = realEvents(0, 10);
      const future = withTime(events[3] as RecentChange, '9999-12-31T23:59:59.000Z', 'future-1');
      const batch = [...events.slice(0, 5), future, ...events.slice(5)];
      await store.apply(await planFor(store, partition, batch, 0));
      await store.apply(await planFor(store, partition, realEvents(10, 5), batch.length));
      const view = await store.read(Number.POSITIVE_INFINITY);
      expect(view.total).toBe(16);
      const newest = Math.max(...realEvents(0, 15).map((e) => Date.parse(e.meta.dt)));
      expect(view.lastEventAt).toBe(new Date(newest).toISOString());
      if (!options.countKinds) return;
      const name = future.user as string;
      const theirs = realEvents(0, 15).filter((e) => e.user === name);
      const user = await store.readUser?.(name, { limit: 10 });
      expect(user?.total).toBe(theirs.length + 1);
      expect(user?.lastSeen).toBe(
        new Date(Math.max(...theirs.map((e) => Date.parse(e.meta.dt)))).toISOString(),
      );
      const domain = await store.readDomain?.(future.meta.domain, { limit: 10 });
      expect(domain?.lastEventAt?.startsWith('9999')).toBe(false);
    });

    describe.skipIf(!options.countKinds)(
      'issue 12 count kinds (drill-downs, bytes, pages, 24h windows)',
      () => {
        it('bytes, one wiki and one user, all time: exact against a plain count, over two partitions', async () => {
          const { store } = await setup();
          const events = exploreEvents();
          const other = { topic: partition.topic, partition: 1 };
          await store.apply(await planFor(store, partition, events.slice(0, 150), 0));
          await store.apply(await planFor(store, other, events.slice(150), 0));
          await expectExplore(store, events, undefined);
        });

        it('windows of 1m, 60m, 90m and 24h, with the drill-downs and pages in them', async () => {
          const { store } = await setup();
          const events = exploreEvents();
          for (let from = 0; from < events.length; from += 60) {
            await store.apply(await planFor(store, partition, events.slice(from, from + 60), from));
          }
          for (const minutes of [1, 60, 90, 24 * 60]) await expectExplore(store, events, minutes);
        });

        it('unknown wikis and users are undefined; a known one with nothing in the window reads zeros', async () => {
          const { store } = await setup();
          const events = exploreEvents();
          await store.apply(await planFor(store, partition, events, 0));
          expect(await store.readDomain?.('never.example.org', { limit: 10 })).toBeUndefined();
          expect(await store.readUser?.('Nobody at all', { limit: 10 })).toBeUndefined();
          expect(await store.readUser?.('toString', { limit: 10 })).toBeUndefined();
          const oldest = events[0] as RecentChange; // three hours before the newest
          const domain = await store.readDomain?.(oldest.meta.domain, { limit: 10, minutes: 1 });
          const user = await store.readUser?.(oldest.user as string, { limit: 10, minutes: 1 });
          expect(domain).toMatchObject({ domain: oldest.meta.domain, window: { minutes: 1 } });
          expect(user).toMatchObject({ user: oldest.user, window: { minutes: 1 } });
          expect(user?.firstSeen).toBe(new Date(Date.parse(oldest.meta.dt)).toISOString());
        });

        it('a redelivered batch, a repeated id and a lost acknowledgement count the new kinds once', async () => {
          const instance = await setup();
          const { store } = instance;
          const events = exploreEvents();
          await store.apply(await planFor(store, partition, events.slice(0, 100), 0));
          const withRepeat = [...events.slice(80, 200), events[150] as RecentChange];
          const plan = await planFor(store, partition, withRepeat, 80);
          expect(plan).toMatchObject({ redelivered: 20, duplicates: 1 });
          instance.failNextApply('after-write');
          await expect(store.apply(plan)).rejects.toMatchObject({ retriable: true });
          expect(await retryUntilDone(store, plan)).toBe('already-applied');
          await store.apply(await planFor(store, partition, events.slice(200), 201));
          await instance.sync();
          await expectExplore(store, events, undefined);
          await expectExplore(store, events, 120);
        });

        it('a restarted instance serves the same answers', async () => {
          const first = await setup();
          const events = exploreEvents();
          await first.store.apply(await planFor(first.store, partition, events.slice(0, 200), 0));
          await first.sync();
          await first.close();
          const restarted = await open();
          await restarted.store.apply(await planFor(restarted.store, partition, events.slice(200), 200));
          await restarted.sync();
          await expectExplore(restarted.store, events, undefined);
          await expectExplore(restarted.store, events, 24 * 60);
        });
      },
    );

    it.skipIf(!options.sharedState)(
      'a zombie writer after a rebalance cannot double count, and release() makes it reload (needs instances sharing live state)',
      async () => {
        const a = await setup();
        const events = realEvents(0, 30);
        await a.store.apply(await planFor(a.store, partition, events.slice(0, 10), 0));
        // a plans its next batches, then loses the partition to b before writing them.
        const zombieCovered = await planFor(a.store, partition, events.slice(10, 15), 10);
        const zombieBeyond = await planFor(a.store, partition, events.slice(10, 25), 10);
        const b = await open();
        await b.store.apply(await planFor(b.store, partition, events.slice(10, 20), 10));
        expect(await a.store.apply(zombieCovered)).toBe('already-applied');
        await expect(a.store.apply(zombieBeyond)).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
        await b.sync();
        expectCounts(await b.store.read(Number.POSITIVE_INFINITY), events.slice(0, 20));

        // The partition comes back to a: after release() it reloads b's position and ids.
        a.store.release([partition]);
        const position = await a.store.position(partition);
        expect(position.nextOffset).toBe(20);
        expect(position.hasSeen((events[19] as RecentChange).meta.id)).toBe(true);
        await a.store.apply(await planFor(a.store, partition, events.slice(20, 30), 20));
        await a.sync();
        await b.sync();
        expectCounts(await a.store.read(Number.POSITIVE_INFINITY), events);
        expectCounts(await b.store.read(Number.POSITIVE_INFINITY), events);
      },
    );
  });
}

/** Plans `events` at offsets from `firstOffset` against the store's position, as the consumer does. */
export async function planFor(
  store: StatsStore,
  partition: PartitionKey,
  events: readonly RecentChange[],
  firstOffset: number,
): Promise<BatchPlan> {
  const position = await store.position(partition);
  const records = events.map((event, i) => ({ offset: firstOffset + i, event }));
  return planBatch(partition, position, records, firstOffset + events.length);
}

/** The consumer's retry of one plan: again while the error is retriable (bounded here). */
async function retryUntilDone(store: StatsStore, plan: BatchPlan): Promise<ApplyResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.apply(plan);
    } catch (err) {
      const conflict = err instanceof WikistreamError && err.code === 'STORE_CONFLICT';
      if (attempt >= 5 || conflict || !(err instanceof WikistreamError && err.retriable)) throw err;
    }
  }
}

let corpus: RecentChange[] | undefined;

/** Real recorded events (distinct ids, in recorded order): `count` of them from `start`. */
export function realEvents(start: number, count: number): RecentChange[] {
  corpus ??= loadCorpus();
  const slice = corpus.slice(start, start + count);
  if (slice.length < count) throw new Error(`only ${corpus.length} recorded events`);
  return slice;
}

function loadCorpus(): RecentChange[] {
  const dir = fileURLToPath(new URL('../../../shared/data/recentchange/', import.meta.url));
  const seen = new Set<string>();
  const events: RecentChange[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson'))
    .sort()) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const parsed = parseRecentChange(line, 1024 * 1024);
      if (parsed.ok && !seen.has(parsed.event.meta.id)) {
        seen.add(parsed.event.meta.id);
        events.push(parsed.event);
      }
    }
  }
  return events;
}

/** Counts straight from the events, independently of StatsDelta: the answer a store must give. */
function reference(events: readonly RecentChange[]) {
  const byDomain = new Map<string, number>();
  const byUser = new Map<string, number>();
  const byType = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  let bots = 0;
  for (const e of events) {
    bump(byDomain, e.meta.domain);
    if (e.user !== undefined) bump(byUser, e.user);
    bump(byType, e.type ?? 'unknown');
    if (e.bot === true) bots++;
  }
  return { total: events.length, bots, humans: events.length - bots, byDomain, byUser, byType };
}

function expectCounts(view: StatsView, events: readonly RecentChange[]): void {
  const want = reference(events);
  expect(view.total).toBe(want.total);
  expect(view.bots).toEqual({ bot: want.bots, human: want.humans });
  expect(new Map(view.byDomain)).toEqual(want.byDomain);
  expect(new Map(view.byUser)).toEqual(want.byUser);
  expect(new Map(view.byType)).toEqual(want.byType);
  expect(view.distinctUsers).toBe(want.byUser.size);
  expect(view.distinctDomains).toBe(want.byDomain.size);
  const newest = Math.max(...events.map((e) => Date.parse(e.meta.dt)));
  expect(view.lastEventAt).toBe(new Date(newest).toISOString());
}

function expectWindow(window: StatsWindowView, events: readonly RecentChange[]): void {
  const minute = (e: RecentChange) => Math.floor(Date.parse(e.meta.dt) / MINUTE_MS);
  const newest = Math.max(...events.map(minute));
  const inWindow = events.filter((e) => minute(e) > newest - 60);
  expect(window.total).toBe(inWindow.length);
  expect(new Map(window.byDomain)).toEqual(reference(inWindow).byDomain);
}

function expectSorted(entries: ReadonlyArray<readonly [string, number]>): void {
  for (let i = 1; i < entries.length; i++) {
    const [prevKey, prev] = entries[i - 1] as readonly [string, number];
    const [key, count] = entries[i] as readonly [string, number];
    expect(prev > count || (prev === count && prevKey < key)).toBe(true);
  }
}

/** A copy of a real event with another `meta.dt` (and id). */
function withTime(event: RecentChange, dt: string, id = event.meta.id): RecentChange {
  return { ...event, meta: { ...event.meta, dt, id } };
}

let explore: RecentChange[] | undefined;

/**
 * 300 real events re-dated one every 36 s over the three hours before now (so windows reach past
 * the hour), with some users renamed to names that break naive code: "__proto__", "a/b", "1234".
 */
export function exploreEvents(): RecentChange[] {
  if (explore) return explore;
  const base = Date.now() - 3 * 3_600_000 - 10 * MINUTE_MS;
  explore = realEvents(0, 300).map((event, i) => {
    const dated = withTime(event, new Date(base + i * 36_000).toISOString());
    const rename = ['__proto__', 'a/b', '1234'][[7, 17, 27].indexOf(i % 50)];
    return rename === undefined ? dated : { ...dated, user: rename };
  });
  return explore;
}

/** The reference rule for bytes, written out again: both lengths, a new page's old length is 0. */
function bytesChanged(e: RecentChange): { added: number; removed: number } {
  const before = typeof e.length?.old === 'number' ? e.length.old : e.type === 'new' ? 0 : undefined;
  const after = typeof e.length?.new === 'number' ? e.length.new : undefined;
  if (before === undefined || after === undefined) return { added: 0, removed: 0 };
  return after >= before ? { added: after - before, removed: 0 } : { added: 0, removed: before - after };
}

/** Events inside the last `minutes` minutes as README's rounding defines it. */
function windowed(events: readonly RecentChange[], minutes: number): RecentChange[] {
  const minute = (e: RecentChange) => Math.floor(Date.parse(e.meta.dt) / MINUTE_MS);
  const newest = Math.max(...events.map(minute));
  const start = newest - minutes + 1;
  const from = minutes <= 60 ? start : Math.floor(start / 10) * 10;
  return events.filter((e) => minute(e) >= from);
}

type Tally = Map<string, number>;
const bump = (m: Tally, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
const addBytes = (m: Map<string, { added: number; removed: number }>, k: string, e: RecentChange) => {
  const b = bytesChanged(e);
  const had = m.get(k) ?? { added: 0, removed: 0 };
  m.set(k, { added: had.added + b.added, removed: had.removed + b.removed });
};

/**
 * Every issue-12 query of `store` against a plain count of `events`: all time (`minutes`
 * undefined) or in the window of `minutes`.
 */
async function expectExplore(
  store: StatsStore,
  events: readonly RecentChange[],
  minutes: number | undefined,
) {
  if (!store.readDomain || !store.readUser || !store.readPages || !store.readWindow) {
    throw new Error('the store lacks readDomain, readUser, readPages or readWindow');
  }
  const span = minutes === undefined ? events : windowed(events, minutes);
  const all = Number.POSITIVE_INFINITY;
  const view = minutes === undefined ? await store.read(all) : await store.readWindow(minutes, all);
  const byUser: Tally = new Map();
  const bytesByDomain = new Map<string, { added: number; removed: number }>();
  const bytesByUser = new Map<string, { added: number; removed: number }>();
  let added = 0;
  let removed = 0;
  for (const e of span) {
    addBytes(bytesByDomain, e.meta.domain, e);
    if (e.user !== undefined) {
      bump(byUser, e.user);
      addBytes(bytesByUser, e.user, e);
    }
    added += bytesChanged(e).added;
    removed += bytesChanged(e).removed;
  }
  expect(view.total).toBe(span.length);
  expect(new Map(view.byUser)).toEqual(byUser);
  expect(view.bytes).toEqual({ added, removed });
  expect(new Map(view.bytesByDomain)).toEqual(bytesByDomain);
  expect(new Map(view.bytesByUser)).toEqual(bytesByUser);
  expect(view.bytesByUser.map(([u]) => u)).toEqual(view.byUser.map(([u]) => u));
  if (span.length > 100) {
    // The events do change bytes both ways: the comparison means something.
    expect(added).toBeGreaterThan(0);
    expect(removed).toBeGreaterThan(0);
  }

  const newestOf = (list: readonly RecentChange[]) =>
    new Date(Math.max(...list.map((e) => Date.parse(e.meta.dt)))).toISOString();
  const oldestOf = (list: readonly RecentChange[]) =>
    new Date(Math.min(...list.map((e) => Date.parse(e.meta.dt)))).toISOString();

  for (const domain of new Set(events.map((e) => e.meta.domain))) {
    const mine = span.filter((e) => e.meta.domain === domain);
    const users: Tally = new Map();
    const types: Tally = new Map();
    const bytes = new Map<string, { added: number; removed: number }>();
    for (const e of mine) {
      if (e.user !== undefined) bump(users, e.user);
      bump(types, e.type ?? 'unknown');
      addBytes(bytes, domain, e);
    }
    const got = await store.readDomain(
      domain,
      minutes === undefined ? { limit: all } : { limit: all, minutes },
    );
    const bots = mine.filter((e) => e.bot === true).length;
    expect(got, domain).toMatchObject({
      domain,
      total: mine.length,
      bots: { bot: bots, human: mine.length - bots },
      bytes: bytes.get(domain) ?? { added: 0, removed: 0 },
      distinctUsers: users.size,
      lastEventAt: newestOf(events.filter((e) => e.meta.domain === domain)),
    });
    expect(new Map(got?.byUser), domain).toEqual(users);
    expect(new Map(got?.byType), domain).toEqual(types);
    expectSorted(got?.byUser ?? []);
    if (minutes !== undefined) expect(got?.window?.minutes).toBe(minutes);
  }

  for (const user of new Set(events.flatMap((e) => (e.user === undefined ? [] : [e.user])))) {
    const theirs = events.filter((e) => e.user === user);
    const inSpan = span.filter((e) => e.user === user);
    const domains: Tally = new Map();
    const types: Tally = new Map();
    const bytes = new Map<string, { added: number; removed: number }>();
    for (const e of inSpan) {
      bump(domains, e.meta.domain);
      bump(types, e.type ?? 'unknown');
      addBytes(bytes, user, e);
    }
    const got = await store.readUser(user, minutes === undefined ? { limit: all } : { limit: all, minutes });
    expect(got, user).toMatchObject({
      user,
      total: inSpan.length,
      bot: inSpan.some((e) => e.bot === true),
      bytes: bytes.get(user) ?? { added: 0, removed: 0 },
      firstSeen: oldestOf(theirs),
      lastSeen: newestOf(theirs),
    });
    expect(new Map(got?.byDomain), user).toEqual(domains);
    expect(new Map(got?.byType), user).toEqual(types);
  }

  if (minutes === undefined) return;
  const pages = new Map<string, number>();
  for (const e of span) if (e.title !== undefined) bump(pages, JSON.stringify([e.meta.domain, e.title]));
  const got = await store.readPages({ minutes, limit: all });
  expect(new Map(got.pages.map((p) => [JSON.stringify([p.domain, p.title]), p.edits]))).toEqual(pages);
  for (let i = 1; i < got.pages.length; i++) {
    const [a, b] = [got.pages[i - 1], got.pages[i]] as [PageEntry, PageEntry];
    const order =
      a.edits - b.edits || (a.domain < b.domain ? 1 : a.domain > b.domain ? -1 : a.title < b.title ? 1 : -1);
    expect(order, `${a.title} before ${b.title}`).toBeGreaterThan(0);
  }
  expect((await store.readPages({ minutes, limit: 3 })).pages).toEqual(got.pages.slice(0, 3));
  const wiki = (span[0] as RecentChange).meta.domain;
  expect((await store.readPages({ minutes, limit: all, domain: wiki })).pages).toEqual(
    got.pages.filter((p) => p.domain === wiki),
  );
}
