import { describe, expect, it } from 'vitest';
import { createLogger } from '../log/logger.js';
import { type OffsetRecord, type PartitionKey, planBatch } from '../stats/batch-plan.js';
import { CHANGE_RING } from './cassandra/partition-rows.js';
import {
  cassandraWorld,
  expectSameAnswers,
  openCassandraStore,
} from './cassandra/testing/cassandra-world.js';
import { FakeCassandra } from './cassandra/testing/fake-cassandra.js';
import { MemoryStatsStore } from './memory-store.js';
import {
  CONTRACT_DEDUP_WINDOW,
  exploreEvents,
  planFor,
  realEvents,
  runStoreContract,
} from './store-contract.js';

// CassandraStatsStore's own code (positions cached and reloaded, compare-and-set outcomes, the
// change feed, paging) over an in-process stand-in for the keyspace, on every run. What only a
// real Cassandra can show (CQL accepted, Paxos, consistency levels, the driver's reconnection) is
// in cassandra-store.test.ts, gated on CASSANDRA_CONTACT_POINTS.
const log = createLogger({ level: 'silent' });
const fake = new FakeCassandra('wikistream');
const options = { newClient: () => fake.client(), keyspace: 'wikistream', log };

runStoreContract('cassandra store over an in-process fake keyspace', cassandraWorld(options), {
  sharedState: true,
  rebase: true,
  countKinds: true,
});

describe('CassandraStatsStore (over the fake keyspace)', () => {
  it('Cassandra lost mid-run: writes fail retriably, /readyz fails, /stats stays; after, nothing lost or doubled', async () => {
    const cluster = new FakeCassandra('wikistream');
    const { store } = await openCassandraStore({ ...options, newClient: () => cluster.client() }, 'outage');
    const partition = { topic: 'outage', partition: 0 };
    const events = realEvents(0, 30);
    await store.apply(await planFor(store, partition, events.slice(0, 10), 0));
    const plan = await planFor(store, partition, events.slice(10, 30), 10);

    cluster.down = true;
    await expect(store.apply(plan)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', retriable: true });
    await expect(store.position(partition)).rejects.toMatchObject({ retriable: true });
    await expect(store.ping()).rejects.toMatchObject({ retriable: true });
    await expect(store.refresh()).rejects.toMatchObject({ name: 'NoHostAvailableError' });
    expect((await store.read(10)).total).toBe(10); // the last view, still served

    cluster.down = false;
    const again = await planFor(store, partition, events.slice(10, 30), 10);
    expect(again).toMatchObject({ fromOffset: 10, nextOffset: 30 });
    expect(await store.apply(again)).toBe('applied');
    expect((await store.read(10)).total).toBe(30);
    await store.ping();
    await store.close();
  });

  it('a user name Cassandra cannot store as is (a lone surrogate) keeps counting, batch after batch', async () => {
    const cluster = new FakeCassandra('wikistream');
    const open = () => openCassandraStore({ ...options, newClient: () => cluster.client() }, 'utf8');
    const writer = await open();
    const partition = { topic: 'utf8', partition: 0 };
    const events = realEvents(0, 3).map((e) => ({ ...e, user: 'Bad\uD800name' }));
    for (let i = 0; i < 3; i++) {
      await writer.store.apply(await planFor(writer.store, partition, events.slice(i, i + 1), i));
    }
    expect((await writer.store.read(10)).byUser).toEqual([['Bad\uD800name', 3]]);
    // Stored as UTF-8, the name comes back with U+FFFD; the count must not have been reset.
    const reader = await open();
    expect((await reader.store.read(10)).byUser).toEqual([['Bad\uFFFDname', 3]]);
    expect((await reader.store.readUser('Bad\uFFFDname', { limit: 10 }))?.total).toBe(3);
    await Promise.all([writer.store.close(), reader.store.close()]);
  });

  it(`a view more than ${CHANGE_RING} batches behind reloads and is exact`, async () => {
    const cluster = new FakeCassandra('wikistream');
    const open = () => openCassandraStore({ ...options, newClient: () => cluster.client() }, 'busy');
    const writer = await open();
    const reader = await open();
    const partition = { topic: 'busy', partition: 0 };
    const events = realEvents(0, CHANGE_RING + 20);
    for (let i = 0; i < events.length; i++) {
      await writer.store.apply(await planFor(writer.store, partition, events.slice(i, i + 1), i));
    }
    expect((await reader.store.read(1)).total).toBe(0);
    await reader.store.refresh(); // the feed's ring has wrapped past what the reader last saw
    expect(await reader.store.read(Number.POSITIVE_INFINITY)).toEqual(
      await writer.store.read(Number.POSITIVE_INFINITY),
    );
    expect((await reader.store.read(1)).total).toBe(CHANGE_RING + 20);
    await Promise.all([writer.store.close(), reader.store.close()]);
  });

  it('reads every page: view, dedup window and change feed with a page of 7 rows', async () => {
    const cluster = new FakeCassandra('wikistream');
    const open = () =>
      openCassandraStore({ ...options, newClient: () => cluster.client(), store: { pageSize: 7 } }, 'paged');
    const writer = await open();
    const partition = { topic: 'paged', partition: 0 };
    const events = exploreEvents().slice(0, 200); // three hours: minute rows past the hour, too
    for (let from = 0; from < 100; from += 25) {
      await writer.store.apply(await planFor(writer.store, partition, events.slice(from, from + 25), from));
    }
    const reader = await open(); // loads users, domains, minutes page by page
    for (let from = 100; from < 200; from += 10) {
      await writer.store.apply(await planFor(writer.store, partition, events.slice(from, from + 10), from));
    }
    await reader.store.refresh(); // follows 10 change rows, 7 a page
    expect(await reader.store.read(Number.POSITIVE_INFINITY)).toEqual(
      await writer.store.read(Number.POSITIVE_INFINITY),
    );
    expect((await reader.store.read(1)).distinctUsers).toBeGreaterThan(7);
    await expectSameAnswers(reader.store, writer.store, events);
    const position = await reader.store.position(partition); // the 16-id window, 7 a page
    expect(events.filter((e) => position.hasSeen(e.meta.id))).toEqual(events.slice(200 - 16));
    await Promise.all([writer.store.close(), reader.store.close()]);
  });

  it('a reader (another process) follows a re-base: the new log counted once, a plan of the old log refused', async () => {
    const cluster = new FakeCassandra('wikistream');
    const open = () => openCassandraStore({ ...options, newClient: () => cluster.client() }, 'rebased');
    const writer = await open();
    const reader = await open();
    const partition = { topic: 'rebased', partition: 0 };
    const events = realEvents(0, 40);
    await writer.store.apply(await planFor(writer.store, partition, events.slice(0, 10), 0));
    await writer.store.apply(await planFor(writer.store, partition, events.slice(10, 20), 10));
    await reader.store.refresh();
    const zombie = await planFor(reader.store, partition, events.slice(20, 25), 20); // made on the old log
    const stale = await open(); // a zombie too, that tries only once the new log is past 25
    const staleZombie = await planFor(stale.store, partition, events.slice(20, 25), 20);

    // The broker came back empty: the producer re-sends from its cursor (15..19, counted), then on.
    await writer.store.rebase(partition, 20, 0);
    const between = await open(); // loads after the re-base, before the new log's first batch
    await expect(reader.store.apply(zombie)).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
    const plan = await planFor(writer.store, partition, events.slice(15, 30), 0);
    expect(plan).toMatchObject({ fromOffset: 0, nextOffset: 15, duplicates: 5 });
    await writer.store.apply(plan);
    await writer.store.apply(await planFor(writer.store, partition, events.slice(30, 40), 15));

    // Past the plan's end in Kafka offsets, yet not covered: it was made on the replaced log.
    await expect(stale.store.apply(staleZombie)).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
    await Promise.all([reader.store.refresh(), between.store.refresh()]);
    const later = await open(); // loads rows written on both sides of the re-base
    const reference = new MemoryStatsStore(CONTRACT_DEDUP_WINDOW);
    await reference.apply(await planFor(reference, partition, events, 0));
    for (const store of [writer.store, reader.store, between.store, later.store]) {
      expect((await store.read(1)).total).toBe(40);
      await expectSameAnswers(store, reference, events);
    }
    expect((await later.store.position(partition)).nextOffset).toBe(25);
    await Promise.all([writer, reader, stale, between, later].map((i) => i.store.close()));
  });

  it('/stats counts the dead-letter topic as rejected: applied there by one process, read by another', async () => {
    const cluster = new FakeCassandra('wikistream');
    const open = () =>
      openCassandraStore(
        { ...options, newClient: () => cluster.client(), store: { deadLetterTopic: 'letters' } },
        'events',
      );
    const writer = await open();
    const events = { topic: 'events', partition: 0 };
    const letters = (partition: number) => ({ topic: 'letters', partition });
    const letter = (offset: number, id: string) => ({ offset, event: undefined, rejectedId: id });
    const apply = async (partition: PartitionKey, records: OffsetRecord[], next: number) =>
      writer.store.apply(planBatch(partition, await writer.store.position(partition), records, next));

    await writer.store.apply(await planFor(writer.store, events, realEvents(0, 10), 0));
    await apply(letters(0), [letter(0, 'sse:a'), letter(1, 'sse:b'), letter(2, 'sse:a')], 3); // one twice
    await apply(letters(1), [letter(0, 'record:events[0]@4')], 1);
    expect((await writer.store.read(1)).rejected).toBe(3); // its own batches, at once
    const reader = await open(); // loads both topics' partitions
    expect(await reader.store.read(5)).toEqual(await writer.store.read(5));
    expect((await reader.store.read(5)).rejected).toBe(3);

    await apply(letters(1), [letter(1, 'sse:c')], 2);
    await apply(letters(2), [letter(0, 'sse:d')], 1); // a partition new to the reader
    await reader.store.refresh();
    const view = await reader.store.read(5);
    expect(view).toMatchObject({ total: 10, rejected: 5 });
    expect(view).toEqual(await writer.store.read(5));
    await Promise.all([writer.store.close(), reader.store.close()]);
  });
});
