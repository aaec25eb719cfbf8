import { describe, expect, it } from 'vitest';
import { createLogger } from '../log/logger.js';
import { CHANGE_RING } from './cassandra/partition-rows.js';
import {
  cassandraWorld,
  expectSameAnswers,
  openCassandraStore,
} from './cassandra/testing/cassandra-world.js';
import { FakeCassandra } from './cassandra/testing/fake-cassandra.js';
import { exploreEvents, planFor, realEvents, runStoreContract } from './store-contract.js';

// CassandraStatsStore's own code (positions cached and reloaded, compare-and-set outcomes, the
// change feed, paging) over an in-process stand-in for the keyspace, on every run. What only a
// real Cassandra can show (CQL accepted, Paxos, consistency levels, the driver's reconnection) is
// in cassandra-store.test.ts, gated on CASSANDRA_CONTACT_POINTS.
const log = createLogger({ level: 'silent' });
const fake = new FakeCassandra('wikistream');
const options = { newClient: () => fake.client(), keyspace: 'wikistream', log };

runStoreContract('cassandra store over an in-process fake keyspace', cassandraWorld(options), {
  sharedState: true,
  rebase: false,
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
});
