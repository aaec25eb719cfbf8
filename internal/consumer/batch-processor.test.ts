import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import { MemoryStatsStore } from '../store/memory-store.js';
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
