import { describe, expect, it } from 'vitest';
import { type BatchPlan, type PartitionKey, planBatch } from '../../stats/batch-plan.js';
import { DedupWindow } from '../../stats/dedup-window.js';
import { MINUTE_MS, MinuteCounts } from '../../stats/minute-buckets.js';
import type { RecentChange } from '../../wikimedia/event-schema.js';
import { MemoryStatsStore } from '../memory-store.js';
import { PartitionLedger } from '../partition-ledger.js';
import { partitionId } from '../stats-store.js';
import { exploreEvents, realEvents } from '../store-contract.js';
import { type ApplyBatch, buildApplyBatch, rowKey, type TouchedRows } from './apply-batch.js';
import { decodeDelta, decodeMinute } from './delta-codec.js';
import { type Change, FollowedView, type LoadedRow, PartitionLoad } from './followed-view.js';
import {
  changeSlotRanges,
  EMPTY_STATICS,
  minuteSlotKey,
  type PartitionStatics,
  ROW_KINDS,
  staticsFromRow,
  windowFromIdRows,
} from './partition-rows.js';
import { statements } from './statements.js';

const cql = statements('ks');

interface Cells {
  count?: number;
  value?: string;
  seq?: number;
  from_offset?: number;
  version?: number;
}

/**
 * One Cassandra partition of `partition_state` as the conditional batches leave it: interprets the
 * four write statements the store sends (by identity), with the compare-and-set. A working small
 * model of the table, to check that what `buildApplyBatch` writes is what `FollowedView` and
 * `windowFromIdRows` need to read back; the real table is covered by the gated Cassandra suite.
 */
class PartitionTable {
  private statics = new Map<string, unknown>();
  readonly rows = new Map<string, Cells>();

  apply(batch: ApplyBatch): boolean {
    const [cas, ...rest] = batch.queries;
    if (cas?.query !== cql.cas) throw new Error('the conditional update must come first');
    const expected = cas.params[11];
    const current = this.statics.get('next_offset') ?? null;
    if (current !== expected) return false;
    const names = ['next_offset', 'batches', 'ids_added', 'ring_size', 'total', 'rejected', 'bots', 'humans'];
    names.push('last_event_ms');
    for (const [i, name] of names.entries()) this.statics.set(name, cas.params[i]);
    for (const { query, params: p } of rest) {
      if (query === cql.count)
        this.rows.set(`${p[4]}\u0000${p[5]}`, { count: p[0] as number, version: p[1] as number });
      else if (query === cql.value) {
        this.rows.set(`${p[5]}\u0000${p[6]}`, {
          value: p[0] as string,
          seq: p[1] as number,
          version: p[2] as number,
        });
      } else if (query === cql.change) {
        this.rows.set(`change\u0000${p[6]}`, {
          value: p[0] as string,
          seq: p[1] as number,
          from_offset: p[2] as number,
          version: p[3] as number,
        });
      } else throw new Error(`unexpected statement ${query}`);
    }
    return true;
  }

  readStatics(): PartitionStatics {
    if (!this.statics.has('next_offset')) return staticsFromRow(undefined);
    return staticsFromRow({ get: (column) => this.statics.get(column) ?? null });
  }

  ofKind(kind: string): Array<[string, Cells]> {
    return [...this.rows]
      .filter(([k]) => k.startsWith(`${kind}\u0000`))
      .map(([k, cells]) => [k.slice(kind.length + 1), cells] as [string, Cells])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  touched(plan: BatchPlan): TouchedRows {
    const counts = new Map<string, number>();
    for (const kind of ROW_KINDS) {
      for (const [key, cells] of this.ofKind(kind)) counts.set(rowKey(kind, key), cells.count ?? 0);
    }
    const minutes = new Map<number, { minute: number; counts: ReturnType<typeof decodeMinute> }>();
    for (const minute of plan.delta.byMinute.keys()) {
      const cells = this.rows.get(`minute\u0000${minuteSlotKey(minute)}`);
      if (cells)
        minutes.set(minute, { minute: cells.seq as number, counts: decodeMinute(cells.value as string) });
    }
    return { counts, minutes };
  }

  loadedRows(): LoadedRow[] {
    const rows: LoadedRow[] = [];
    for (const kind of ROW_KINDS) {
      for (const [key, c] of this.ofKind(kind)) {
        rows.push({ kind, key, count: c.count as number, version: c.version as number });
      }
    }
    for (const [, c] of this.ofKind('minute')) {
      rows.push({
        kind: 'minute',
        minute: c.seq as number,
        counts: decodeMinute(c.value as string),
        version: c.version as number,
      });
    }
    return rows;
  }

  /** The change rows of batches from..to-1, as the store reads them: by slot ranges. */
  changes(from: number, to: number): Change[] {
    return changeSlotRanges(from, to)
      .flatMap(([first, last]) => this.ofKind('change').filter(([key]) => key >= first && key <= last))
      .map(([, c]) => ({
        seq: c.seq as number,
        fromOffset: c.from_offset as number,
        toOffset: c.version as number,
        delta: decodeDelta(c.value as string),
      }))
      .filter((c) => c.seq >= from)
      .sort((a, b) => a.seq - b.seq);
  }
}

/** A writer like CassandraStatsStore.apply, over the table model, beside a memory store as reference. */
class Writer {
  statics: PartitionStatics;
  ledger: PartitionLedger;
  readonly reference: MemoryStatsStore;

  constructor(
    readonly table: PartitionTable,
    readonly partition: PartitionKey,
    public dedupWindow: number,
  ) {
    this.statics = table.readStatics();
    this.ledger = this.reload();
    this.reference = new MemoryStatsStore(dedupWindow);
  }

  reload(): PartitionLedger {
    this.statics = this.table.readStatics();
    const ids = this.table.ofKind('id').map(([, c]) => ({ value: c.value as string, seq: c.seq as number }));
    this.ledger = new PartitionLedger(
      this.dedupWindow,
      this.statics.nextOffset,
      windowFromIdRows(ids, this.statics.idsAdded, this.dedupWindow),
    );
    return this.ledger;
  }

  async write(events: readonly RecentChange[], firstOffset: number): Promise<BatchPlan> {
    const records = events.map((event, i) => ({ offset: firstOffset + i, event }));
    const plan = planBatch(this.partition, this.ledger, records, firstOffset + events.length);
    expect(this.ledger.decide(plan)).toBe('apply');
    const batch = buildApplyBatch({
      cql,
      topic: this.partition.topic,
      partition: this.partition.partition,
      statics: this.statics,
      plan,
      touched: this.table.touched(plan),
      dedupWindow: this.dedupWindow,
      windowAfter: () => {
        const window = new DedupWindow(this.dedupWindow, this.ledger.recentIds());
        for (const id of plan.newIds) window.add(id);
        return window.toArray();
      },
      nowMs: Date.now(),
    });
    expect(this.table.apply(batch)).toBe(true);
    this.statics = batch.statics;
    this.ledger.advance(plan);
    await this.reference.apply(
      planBatch(
        this.partition,
        await this.reference.position(this.partition),
        records,
        firstOffset + events.length,
      ),
    );
    return plan;
  }
}

function follow(view: FollowedView, id: string, table: PartitionTable): void {
  const cursor = view.cursor(id);
  if (!cursor) throw new Error('not followed');
  for (const change of table.changes(cursor.seq, table.readStatics().batches)) {
    expect(view.apply(id, change)).toBe('applied');
  }
}

const P = { topic: 'wikipedia.changes', partition: 0 };
const ID = partitionId(P);

describe('FollowedView over the rows buildApplyBatch writes', () => {
  it('a view loaded at any point and then followed equals the memory store fed the same batches', async () => {
    const table = new PartitionTable();
    const writer = new Writer(table, P, 32);
    const events = realEvents(0, 300);
    const early = new FollowedView();
    early.load(ID, table.readStatics(), table.loadedRows());
    let late: FollowedView | undefined;
    for (let from = 0; from < 300; from += 25) {
      await writer.write(events.slice(from, from + 25), from);
      follow(early, ID, table);
      if (from === 100) {
        late = new FollowedView();
        late.load(ID, table.readStatics(), table.loadedRows());
      }
    }
    if (!late) throw new Error('unreachable');
    follow(late, ID, table);
    const want = await writer.reference.read(Number.POSITIVE_INFINITY);
    expect(want.total).toBe(300);
    expect(early.read(Number.POSITIVE_INFINITY)).toEqual(want);
    expect(late.read(Number.POSITIVE_INFINITY)).toEqual(want);
    expect(late.readWindow(60, 20)).toEqual(await writer.reference.readWindow(60, 20));
  });

  it('a load that raced with writes (statics read, then batches, then rows) still counts each batch once', async () => {
    const table = new PartitionTable();
    const writer = new Writer(table, P, 32);
    const events = realEvents(0, 120);
    await writer.write(events.slice(0, 40), 0);
    const staticsBefore = table.readStatics();
    // Two batches land between the statics read and the row scan; they touch keys already loaded.
    await writer.write(events.slice(40, 80), 40);
    await writer.write(events.slice(20, 100), 20); // redelivery overlapping, plus 20 new
    const view = new FollowedView();
    view.load(ID, staticsBefore, table.loadedRows());
    follow(view, ID, table);
    await writer.write(events.slice(100, 120), 100);
    follow(view, ID, table);
    expect(view.read(Number.POSITIVE_INFINITY)).toEqual(
      await writer.reference.read(Number.POSITIVE_INFINITY),
    );
  });

  it('a raced load then the feed: every drill-down, 24 h window and page list as the memory store', async () => {
    const table = new PartitionTable();
    const writer = new Writer(table, P, 32);
    const events = exploreEvents(); // three hours of event time, so the 10-minute buckets matter
    await writer.write(events.slice(0, 120), 0);
    const staticsBefore = table.readStatics();
    await writer.write(events.slice(120, 200), 120); // lands between the statics and the rows
    const view = new FollowedView();
    view.load(ID, staticsBefore, table.loadedRows());
    follow(view, ID, table);
    await writer.write(events.slice(200), 200);
    follow(view, ID, table);
    const reference = writer.reference;
    const limit = Number.POSITIVE_INFINITY;
    expect(view.read(limit)).toEqual(await reference.read(limit));
    for (const minutes of [1, 60, 90, 24 * 60]) {
      expect(view.readWindow(minutes, limit)).toEqual(await reference.readWindow(minutes, limit));
      expect(view.readPages({ minutes, limit })).toEqual(await reference.readPages({ minutes, limit }));
    }
    const domains = new Set(events.map((e) => e.meta.domain));
    const users = new Set(events.flatMap((e) => (e.user === undefined ? [] : [e.user])));
    expect(users.has('__proto__')).toBe(true);
    for (const query of [{ limit }, { limit, minutes: 90 }]) {
      for (const domain of domains) {
        expect(view.readDomain(domain, query)).toEqual(await reference.readDomain(domain, query));
      }
      for (const user of users) {
        expect(view.readUser(user, query)).toEqual(await reference.readUser(user, query));
      }
    }
  });

  it('a load keeps at most the 24 h window of minute rows, folded into its buckets', () => {
    const newest = Math.floor(Date.now() / MINUTE_MS) - 5;
    const loading = new PartitionLoad({ ...EMPTY_STATICS, exists: true, nextOffset: 10, batches: 1 });
    const minuteRow = (minute: number) => {
      const counts = new MinuteCounts();
      counts.addCount('domain', 'en.wikipedia.org', 1);
      counts.total = 1;
      counts.humans = 1;
      return { kind: 'minute' as const, minute, counts, version: 10 };
    };
    // Every minute of 26 hours, and a ring slot last written three days ago, in slot order.
    const minutes = [newest - 3 * 1440, ...Array.from({ length: 26 * 60 }, (_, i) => newest - i)];
    for (const minute of minutes.sort((a, b) => (a % 2048) - (b % 2048))) loading.add(minuteRow(minute));
    const snapshot = loading.snapshot();
    expect(snapshot.minutes?.length).toBe(60);
    expect(snapshot.coarse?.length).toBeLessThanOrEqual(145);
    const view = new FollowedView();
    view.add(ID, loading);
    const day = view.readWindow(24 * 60, 10);
    const fromMinute = Date.parse(day.from as string) / MINUTE_MS;
    expect(day.total).toBe(newest - fromMinute + 1); // one a minute, nothing older than the window
    expect(view.readWindow(60, 10).total).toBe(60);
  });

  it("this instance's own batches and the feed's are applied once, whichever comes first", async () => {
    const table = new PartitionTable();
    const writer = new Writer(table, P, 32);
    const view = new FollowedView();
    const events = realEvents(0, 60);
    const plan = await writer.write(events.slice(0, 30), 0);
    const own = { seq: 0, fromOffset: plan.fromOffset, toOffset: plan.nextOffset, delta: plan.delta };
    expect(view.apply(ID, own)).toBe('applied'); // first batch of a partition: starts following
    for (const change of table.changes(0, 1)) expect(view.apply(ID, change)).toBe('seen');
    await writer.write(events.slice(30, 60), 30);
    const [second] = table.changes(1, 2);
    if (!second) throw new Error('no change row');
    expect(view.apply(ID, { ...second, seq: 2 })).toBe('gap');
    expect(view.apply(ID, second)).toBe('applied');
    expect(view.read(Number.POSITIVE_INFINITY)).toEqual(
      await writer.reference.read(Number.POSITIVE_INFINITY),
    );
    expect(new FollowedView().apply(ID, second)).toBe('unknown');
  });

  it('position() state: the id ring gives back the last DEDUP_WINDOW ids, also after DEDUP_WINDOW changes', async () => {
    const table = new PartitionTable();
    const writer = new Writer(table, P, 10);
    const events = realEvents(0, 90);
    for (let from = 0; from < 40; from += 7)
      await writer.write(events.slice(from, Math.min(from + 7, 40)), from);
    const expectWindow = (w: number, upTo: number, remembered: readonly RecentChange[]) => {
      writer.dedupWindow = w;
      const ledger = writer.reload();
      const ids = events.slice(0, upTo).map((e) => e.meta.id);
      expect(ids.filter((id) => ledger.hasSeen(id))).toEqual(remembered.map((e) => e.meta.id));
      expect(ledger.nextOffset).toBe(upTo);
    };
    expectWindow(10, 40, events.slice(30, 40));
    // Restarted with a larger window: the 10 ids it had plus the new ones (older ids were
    // forgotten before the change, as in memory); the ring is laid out again on that write.
    writer.dedupWindow = 25;
    writer.reload();
    await writer.write(events.slice(40, 50), 40);
    expectWindow(25, 50, events.slice(30, 50));
    await writer.write(events.slice(50, 60), 50);
    expectWindow(25, 60, events.slice(35, 60));
    // And smaller: leftovers of the larger ring are ignored.
    writer.dedupWindow = 4;
    writer.reload();
    await writer.write(events.slice(60, 90), 60);
    expectWindow(4, 90, events.slice(86, 90));
    expect(table.readStatics().ringSize).toBe(4);
  });

  it('serves the same view between changes and a fresh one after', async () => {
    const table = new PartitionTable();
    const writer = new Writer(table, P, 32);
    const events = realEvents(0, 40);
    const view = new FollowedView();
    view.load(ID, table.readStatics(), table.loadedRows());
    await writer.write(events.slice(0, 20), 0);
    follow(view, ID, table);
    const first = view.read(10);
    expect(view.read(10)).toBe(first);
    expect(view.read(5)).toEqual({
      ...first,
      byUser: first.byUser.slice(0, 5),
      byDomain: first.byDomain.slice(0, 5),
      bytesByUser: first.bytesByUser.slice(0, 5),
      bytesByDomain: first.bytesByDomain.slice(0, 5),
    });
    await writer.write(events.slice(20, 40), 20);
    follow(view, ID, table);
    const after = view.read(10);
    expect(after).not.toBe(first);
    expect(after.total).toBe(40);
  });
});
