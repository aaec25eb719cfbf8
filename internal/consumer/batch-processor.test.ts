import { errors } from 'cassandra-driver';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { WikistreamError } from '../errors.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import { openCassandraStore } from '../store/cassandra/testing/cassandra-world.js';
import { FakeCassandra } from '../store/cassandra/testing/fake-cassandra.js';
import type { CassandraStoreOptions } from '../store/cassandra-store.js';
import { MemoryStatsStore } from '../store/memory-store.js';
import type { StatsStore } from '../store/stats-store.js';
import { CONTRACT_DEDUP_WINDOW } from '../store/store-contract.js';
import {
  type BatchContext,
  BatchProcessor,
  type DeadLetter,
  type DeadLetterSink,
} from './batch-processor.js';

const P = { topic: 'wikipedia.changes', partition: 1 };
const DLQ = 'wikipedia.changes.dlq';
const silent = pino({ level: 'silent' });
const active: BatchContext = { heartbeat: async () => {}, isActive: () => true };

function record(offset: number, id: string, domain = 'en.wikipedia.org') {
  const event = {
    meta: { id, dt: '2026-07-17T12:38:45.384Z', domain },
    user: `u${offset}`,
    type: 'edit',
    bot: false,
  };
  return { offset, value: Buffer.from(JSON.stringify(event)) };
}

/** A batch as fetched; the log ends after its last offset unless told otherwise. */
function fetched(
  records: Array<{ offset: number; value: Buffer | null }>,
  lastOffset: number,
  highWatermark = lastOffset + 1,
) {
  return { records, lastOffset, highWatermark };
}

class CollectingSink implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  async send(letters: readonly DeadLetter[]) {
    this.letters.push(...letters);
  }
}

function setup(store = new MemoryStatsStore(1_000)) {
  const sink = new CollectingSink();
  const metrics = createMetrics({ defaultMetrics: false });
  const processor = new BatchProcessor(
    store,
    sink,
    { maxEventBytes: 10_000, dlqTopic: DLQ, retryMinMs: 1, retryMaxMs: 5 },
    silent,
    metrics,
  );
  return { store, sink, processor, metrics };
}

async function counter(metrics: Metrics, name: string): Promise<number> {
  const values = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.reduce((sum, v) => sum + v.value, 0);
}

describe('BatchProcessor', () => {
  it('applies a batch and reports the offset to commit', async () => {
    const { store, processor } = setup();
    const outcome = await processor.process(P, fetched([record(0, 'a'), record(1, 'b')], 1), active);
    expect(outcome).toMatchObject({ kind: 'applied', plan: { nextOffset: 2 } });
    expect((await store.read(10)).total).toBe(2);
  });

  it('retries a failed store write and only then reports it applied', async () => {
    const { store, processor } = setup();
    const apply = store.apply.bind(store);
    const spy = vi
      .spyOn(store, 'apply')
      .mockRejectedValueOnce(new Error('Cassandra timeout'))
      .mockRejectedValueOnce(new Error('Cassandra timeout'))
      .mockImplementation(apply);
    const outcome = await processor.process(P, fetched([record(0, 'a')], 0), active);
    expect(spy).toHaveBeenCalledTimes(3);
    expect(outcome.kind).toBe('applied');
    expect((await store.read(10)).total).toBe(1);
  });

  it('abandons a batch that is no longer ours while the store is down (nothing to commit)', async () => {
    const { store, processor } = setup();
    vi.spyOn(store, 'apply').mockRejectedValue(new Error('down'));
    let calls = 0;
    const outcome = await processor.process(P, fetched([record(0, 'a')], 0), {
      heartbeat: async () => {},
      isActive: () => ++calls < 3,
    });
    expect(outcome.kind).toBe('aborted');
  });

  it('counts a redelivered batch once, and duplicates of an id once', async () => {
    const { store, processor } = setup();
    await processor.process(P, fetched([record(0, 'a'), record(1, 'b')], 1), active);
    await processor.process(P, fetched([record(0, 'a'), record(1, 'b')], 1), active); // redelivered
    await processor.process(P, fetched([record(2, 'b'), record(3, 'c')], 3), active); // b written twice
    const view = await store.read(10);
    expect(view.total).toBe(3);
    expect((await store.position(P)).nextOffset).toBe(4);
  });

  it('asks to seek back once when Kafka is ahead of the store, then counts the gap as lost', async () => {
    const { store, processor, metrics } = setup();
    expect(await processor.process(P, fetched([record(5, 'x')], 5), active)).toEqual({
      kind: 'seek',
      offset: 0,
    });
    // The log really starts at 5 (retention): the same batch again is applied, the gap reported.
    expect((await processor.process(P, fetched([record(5, 'x')], 5), active)).kind).toBe('applied');
    expect((await store.read(10)).total).toBe(1);
    expect(await counter(metrics, 'wikistream_records_lost_total')).toBe(5);
  });

  it('re-bases when the log ends below the store position (broker came back empty)', async () => {
    const { store, processor, metrics } = setup();
    await processor.process(P, fetched([record(0, 'a'), record(1, 'b'), record(2, 'c')], 2), active);
    // The new log: the producer re-sent c from its cursor, then d; kafkajs reset to the start.
    const newLog = [record(0, 'c'), record(1, 'd')];
    // First it asks for the last record applied (offset 2)...
    expect(await processor.process(P, fetched(newLog, 1), active)).toEqual({ kind: 'seek', offset: 2 });
    expect(await counter(metrics, 'wikistream_log_replaced_total')).toBe(0);
    // ...which the new log does not have: kafkajs reads it from the start again.
    expect(await processor.process(P, fetched(newLog, 1), active)).toEqual({ kind: 'seek', offset: 0 });
    expect(await counter(metrics, 'wikistream_log_replaced_total')).toBe(1);
    expect((await store.position(P)).nextOffset).toBe(0);
    const outcome = await processor.process(P, fetched(newLog, 1), active);
    expect(outcome).toMatchObject({ kind: 'applied', plan: { nextOffset: 2, duplicates: 1 } });
    const view = await store.read(10);
    expect(view.total).toBe(4);
  });

  it('re-bases a replaced log that grew past the position: the record before it is not ours', async () => {
    const { store, processor, metrics } = setup();
    await processor.process(P, fetched([record(0, 'a'), record(1, 'b')], 1), active);
    processor.reset(); // a new assignment (the group was rebuilt by the new broker)
    // Asked to start at offset 1, the new log holds another event there, and is longer already.
    const newLog = [record(0, 'b'), record(1, 'x'), record(2, 'y'), record(3, 'z')];
    expect(await processor.process(P, fetched(newLog.slice(1), 3), active)).toEqual({
      kind: 'seek',
      offset: 0,
    });
    expect(await counter(metrics, 'wikistream_log_replaced_total')).toBe(1);
    await processor.process(P, fetched(newLog, 3), active);
    expect((await store.read(10)).total).toBe(5); // a b x y z: b counted once
  });

  it('does not re-base on a high watermark that only lags (a new leader catching up)', async () => {
    const { store, processor, metrics } = setup();
    await processor.process(P, fetched([record(0, 'a'), record(1, 'b'), record(2, 'c')], 2), active);
    // A stale batch from below the position, fetched while the leader's high watermark lagged.
    expect(await processor.process(P, fetched([record(0, 'a')], 0, 1), active)).toEqual({
      kind: 'seek',
      offset: 2,
    });
    // The same log once caught up: the last record applied is there, and it is ours.
    const outcome = await processor.process(P, fetched([record(2, 'c'), record(3, 'd')], 3), active);
    expect(outcome).toMatchObject({ kind: 'applied', plan: { nextOffset: 4, redelivered: 1 } });
    expect(await counter(metrics, 'wikistream_log_replaced_total')).toBe(0);
    expect((await store.read(10)).total).toBe(4);
  });

  it('after an assignment, seeks to the last counted record first and goes on when it is ours', async () => {
    const { store, processor, metrics } = setup();
    await processor.process(P, fetched([record(0, 'a'), record(1, 'b')], 1), active);
    processor.reset();
    // Fetched from the group's commit (2): first look at offset 1.
    expect(await processor.process(P, fetched([record(2, 'c')], 2), active)).toEqual({
      kind: 'seek',
      offset: 1,
    });
    const outcome = await processor.process(P, fetched([record(1, 'b'), record(2, 'c')], 2), active);
    expect(outcome).toMatchObject({ kind: 'applied', plan: { nextOffset: 3, redelivered: 1 } });
    expect(await counter(metrics, 'wikistream_log_replaced_total')).toBe(0);
    expect((await store.read(10)).total).toBe(3);
  });

  it('dead-letters malformed records with where they came from, once; counts them when read back', async () => {
    const { store, sink, processor } = setup();
    const bad = [
      { offset: 0, value: Buffer.from('not json') },
      { offset: 1, value: Buffer.from('{"meta":{"id":"m1"}}') },
      { offset: 2, value: null },
    ];
    await processor.process(P, fetched([...bad, record(3, 'ok')], 3), active);
    await processor.process(P, fetched([...bad, record(3, 'ok')], 3), active); // redelivery: no new letters
    expect(sink.letters.map((l) => [l.offset, l.reason, l.eventId])).toEqual([
      [0, 'invalid_json', undefined],
      [1, 'schema', 'm1'],
      [2, 'invalid_json', undefined],
    ]);
    expect(sink.letters[0]?.partition).toEqual(P);
    // Not counted on the main topic: `rejected` counts the dead-letter topic.
    expect((await store.read(10)).rejected).toBe(0);
    // The dead-letter topic as KafkaDeadLetters writes it, with the first letter written twice
    // (a crash between the letter and the store write), and one of the producer's letters.
    const asWritten = (l: (typeof sink.letters)[number]) => ({
      'source-topic': l.partition.topic,
      'source-partition': String(l.partition.partition),
      'source-offset': String(l.offset),
    });
    const dlq = [
      ...sink.letters.map((l, i) => ({ offset: i, value: l.value, headers: asWritten(l) })),
      { offset: 3, value: sink.letters[0]?.value ?? null, headers: asWritten(sink.letters[0] as DeadLetter) },
      { offset: 4, value: Buffer.from('{'), headers: { 'source-id': '[{"offset":7}]' } },
    ];
    await processor.process({ topic: DLQ, partition: 0 }, fetched(dlq, 4), active);
    expect(sink.letters).toHaveLength(3); // dead letters are never dead-lettered again
    const view = await store.read(10);
    expect([view.total, view.rejected]).toEqual([1, 4]);
  });
});

describe('BatchProcessor: a fetch larger than one store write', () => {
  const cassandraLog = pino({ level: 'silent' });
  /** Records of distinct users, as a dense (gzip-compressed) fetch brings them. */
  const dense = (count: number, from = 0) =>
    Array.from({ length: count }, (_, i) => record(from + i, `dense-${from + i}`));
  const processorFor = (store: StatsStore) =>
    new BatchProcessor(
      store,
      new CollectingSink(),
      { maxEventBytes: 10_000, dlqTopic: DLQ, retryMinMs: 1, retryMaxMs: 5 },
      silent,
    );
  const openOn = (cluster: FakeCassandra, store: Partial<CassandraStoreOptions> = {}) =>
    openCassandraStore(
      { newClient: () => cluster.client(), keyspace: 'wikistream', log: cassandraLog, store },
      P.topic,
    );
  /** What the same records give through a store that takes any batch whole. */
  const reference = async (records: ReturnType<typeof dense>) => {
    const memory = new MemoryStatsStore(CONTRACT_DEDUP_WINDOW);
    await processorFor(memory).process(P, fetched(records, records.length - 1), active);
    return memory.read(Number.POSITIVE_INFINITY);
  };

  /** A memory store that records the offsets of every plan it applies (and refuses big ones). */
  const recordingStore = (options: { maxRecordsPerApply?: number; refuseOver?: number }) => {
    const store = new MemoryStatsStore(1_000);
    if (options.maxRecordsPerApply !== undefined) {
      Object.defineProperty(store, 'maxRecordsPerApply', { value: options.maxRecordsPerApply });
    }
    const applied: Array<[number, number]> = [];
    const apply = store.apply.bind(store);
    vi.spyOn(store, 'apply').mockImplementation(async (plan) => {
      if (plan.newIds.length > (options.refuseOver ?? Number.POSITIVE_INFINITY)) {
        throw new WikistreamError('STORE_PLAN_TOO_LARGE', 'too large');
      }
      applied.push([plan.fromOffset, plan.nextOffset]);
      return apply(plan);
    });
    return { store, applied };
  };

  it('applies in consecutive plans of at most maxRecordsPerApply, each from where the last ended', async () => {
    const { store, applied } = recordingStore({ maxRecordsPerApply: 3 });
    const outcome = await processorFor(store).process(P, fetched(dense(10), 11), active);
    expect(applied).toEqual([
      [0, 3],
      [3, 6],
      [6, 9],
      [9, 12], // the last ends at the fetch's end
    ]);
    expect(outcome).toMatchObject({ kind: 'applied', plan: { nextOffset: 12 }, counted: 10 });
    expect((await store.read(1)).total).toBe(10);
  });

  it('a chunk the store still finds too large (long keys) is halved until it fits', async () => {
    const { store, applied } = recordingStore({ refuseOver: 4 });
    const outcome = await processorFor(store).process(P, fetched(dense(10), 9), active);
    expect(applied).toEqual([
      [0, 3],
      [3, 6],
      [6, 9],
      [9, 10],
    ]);
    expect(outcome).toMatchObject({ kind: 'applied', plan: { nextOffset: 10 }, counted: 10 });
  });

  it('6,000 events of distinct users (over the Cassandra batch cap in one plan) are applied exactly once', async () => {
    const cluster = new FakeCassandra('wikistream');
    const { store } = await openOn(cluster);
    const records = dense(6_000);
    const outcome = await processorFor(store).process(P, fetched(records, records.length - 1), active);
    expect(outcome).toMatchObject({ kind: 'applied', plan: { nextOffset: 6_000 }, counted: 6_000 });
    const reader = await openOn(cluster); // another process loads what was written
    expect(await reader.store.read(Number.POSITIVE_INFINITY)).toEqual(await reference(records));
    await Promise.all([store.close(), reader.store.close()]);
  });

  it('a lost acknowledgement, a crash and a conflict between chunks: resumed at the boundary, counted once', async () => {
    const cluster = new FakeCassandra('wikistream');
    const cap = { maxRecordsPerApply: 100 };
    const records = dense(1_000);
    const whole = fetched(records, records.length - 1);

    // Process A: the second chunk's write lands but its answer is lost (the retry finds it
    // applied); A dies after its fourth write.
    const a = await openOn(cluster, cap);
    const batch = a.client.batch.bind(a.client) as (...args: unknown[]) => Promise<unknown>;
    let writes = 0;
    vi.spyOn(a.client, 'batch').mockImplementation((async (...args: unknown[]) => {
      const result = await batch(...args);
      if (++writes === 2) throw new errors.OperationTimedOutError('injected: acknowledgement lost');
      return result;
    }) as never);
    const dies = { heartbeat: async () => {}, isActive: () => writes < 4 };
    expect(await processorFor(a.store).process(P, whole, dies)).toEqual({ kind: 'aborted' });
    expect((await a.store.position(P)).nextOffset).toBe(400); // four chunks, the retried one once
    await a.store.close();

    // Process B gets the partition; Kafka redelivers the whole fetch (nothing was committed).
    // Meanwhile C, a zombie still holding it, applies the next chunk: B's plan conflicts, re-plans.
    const b = await openOn(cluster, cap);
    const c = await openOn(cluster, cap);
    const bApply = b.store.apply.bind(b.store);
    const plans: Array<[number, number, number]> = [];
    let zombie = true;
    vi.spyOn(b.store, 'apply').mockImplementation(async (plan) => {
      plans.push([plan.fromOffset, plan.nextOffset, plan.redelivered]);
      if (zombie) {
        zombie = false;
        await processorFor(c.store).process(P, fetched(records.slice(400, 500), 499), active);
      }
      return bApply(plan);
    });
    const outcome = await processorFor(b.store).process(P, whole, active);
    expect(outcome).toMatchObject({ kind: 'applied', plan: { nextOffset: 1_000 } });
    expect(plans[0]).toEqual([400, 500, 400]); // skipped by offset what A applied
    expect(plans[1]).toEqual([500, 600, 0]); // after the conflict, from where C left it
    const reader = await openOn(cluster);
    expect(await reader.store.read(Number.POSITIVE_INFINITY)).toEqual(await reference(records));
    await Promise.all([b.store.close(), c.store.close(), reader.store.close()]);
  });
});
