import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RunningChild, startChild } from '../support/child-process.js';
import { readTopic, startTestKafka } from '../support/kafka.js';
import { startConsumer, startProducer } from '../support/kafka-pipeline.js';
import {
  TEST_EXPECTED as EXPECTED,
  expectExact,
  fetchStats,
  settledStats,
  startReplay,
  statsReaching,
  TEST_EVENTS,
  tempDataDir,
} from '../support/pipeline.js';
import { waitFor } from '../support/wait-for.js';

const EVENTS_SENT = TEST_EVENTS.length;

/** One unlabelled series of the producer's /metrics. */
async function producerMetric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/** The producer's `wikistream_producer_in_flight_events` gauge. */
const inFlight = (port: number) => producerMetric(port, 'wikistream_producer_in_flight_events');

/** The partitions of the events topic (not the dead-letter topic) the child last joined with. */
function assignmentOf(child: RunningChild, topic: string): number[] | undefined {
  const joins = child
    .output()
    .split('\n')
    .filter((line) => line.includes('"joined the consumer group"'))
    .map((line) => JSON.parse(line) as { assignment: Record<string, number[]> });
  const last = joins[joins.length - 1];
  return last ? (last.assignment[topic] ?? []) : undefined;
}

/** Log lines at error level or above (pino: 50 error, 60 fatal). */
function linesAtError(child: RunningChild): string[] {
  return child
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{') && (JSON.parse(line) as { level: number }).level >= 50);
}

/** The stream flowing at 1,500 events/s through a producer, and a consumer on `dataDir` halfway through it. */
async function consumerHalfway() {
  const kafka = await startTestKafka();
  const { url } = await startReplay({ ratePerSec: 1_500 });
  await startProducer(kafka, url, tempDataDir());
  const dataDir = tempDataDir();
  const first = await startConsumer(kafka, dataDir);
  await statsReaching(first.port, first.child, Math.floor(EXPECTED.total / 2));
  return { kafka, dataDir, first };
}

/** A consumer started again on `dataDir` (the first one gone) ends with exactly the expected counts. */
async function restartedConsumerCountsExactly(
  kafka: Awaited<ReturnType<typeof startTestKafka>>,
  dataDir: string,
) {
  const second = await startConsumer(kafka, dataDir);
  await statsReaching(second.port, second.child, EXPECTED.total);
  expectExact(await settledStats(second.port), EXPECTED);
  return second;
}

describe('producer -> Kafka -> consumer, as separate processes over real sockets', () => {
  it('counts exactly what the recorded events say, and a normal run logs nothing at error', async () => {
    const kafka = await startTestKafka();
    const { url } = await startReplay();
    const producer = await startProducer(kafka, url, tempDataDir());
    // The producer created the topics: the consumer finds them there, which is not an error.
    const consumer = await startConsumer(kafka, tempDataDir());
    await statsReaching(consumer.port, consumer.child, EXPECTED.total);
    const body = await settledStats(consumer.port);
    expectExact(body, EXPECTED);
    expect(body.rejected).toBe(0);
    for (const child of [producer, consumer.child]) expect(linesAtError(child)).toEqual([]);
    // Each record is the payload as sent, byte for byte (canaries are not produced; duplicates
    // are, for the consumer to drop), keyed by its meta.id, with no headers.
    const produced = TEST_EVENTS.filter((line) => !line.includes('"domain":"canary"'));
    expect(produced.length).toBeLessThan(EVENTS_SENT);
    const records = await readTopic(kafka, kafka.topic, produced.length);
    expect(records.map((r) => r.value).sort()).toEqual(produced.sort());
    for (const r of records) {
      expect(r.key).toBe((JSON.parse(r.value) as { meta: { id: string } }).meta.id);
      expect(r.headers).toEqual({});
    }
  });

  it('stays exact when the consumer is SIGKILLed mid-stream and restarted', async () => {
    const { kafka, dataDir, first } = await consumerHalfway();
    // Kill it once it has a checkpoint (usually older than its last commit: the seek-back path).
    await waitFor(() => existsSync(join(dataDir, 'consumer-checkpoint.json')), { message: 'a checkpoint' });
    first.child.process.kill('SIGKILL');
    expect(await first.child.exited).toBe('SIGKILL');
    const second = await restartedConsumerCountsExactly(kafka, dataDir);
    expect(second.child.output()).toContain('memory store restored from checkpoint');
  });

  it('stops cleanly on SIGTERM mid-stream (batches in flight between its threads) and restarts exact', async () => {
    const { kafka, dataDir, first } = await consumerHalfway();
    first.child.process.kill('SIGTERM');
    expect(await first.child.exited).toBe(0);
    expect(linesAtError(first.child)).toEqual([]);
    await restartedConsumerCountsExactly(kafka, dataDir);
  });

  it('stays exact when the producer is SIGKILLed mid-stream and restarted (duplicates removed)', async () => {
    const kafka = await startTestKafka();
    const { replay, url } = await startReplay({ ratePerSec: 1_500 });
    const producerDir = tempDataDir();
    const first = await startProducer(kafka, url, producerDir);
    const consumer = await startConsumer(kafka, tempDataDir());
    await statsReaching(consumer.port, consumer.child, Math.floor(EXPECTED.total / 2));
    first.process.kill('SIGKILL');
    await first.exited;
    const before = replay.connections.length;
    await startProducer(kafka, url, producerDir);
    await statsReaching(consumer.port, consumer.child, EXPECTED.total);
    expectExact(await settledStats(consumer.port), EXPECTED);
    // The restart resumed from the acknowledged cursor, not from the start. (Under load the
    // consumer may count the last event before the restarted producer's reader has connected.)
    await waitFor(() => replay.connections.length > before, { message: 'the restarted producer to connect' });
    expect(replay.connections[before]?.lastEventId).toMatch(/"offset":\d+/);
    if (kafka.broker) {
      const written = kafka.broker.topicEndOffsets(kafka.topic).reduce((a, b) => a + b, 0);
      expect(written).toBeGreaterThanOrEqual(EXPECTED.total);
    }
  });

  it('stops the producer cleanly on SIGTERM mid-stream (events read but not sent flushed) and resumes exact', async () => {
    const kafka = await startTestKafka();
    const { url } = await startReplay({ ratePerSec: 1_500 });
    const producerDir = tempDataDir();
    const first = await startProducer(kafka, url, producerDir);
    const consumer = await startConsumer(kafka, tempDataDir());
    await statsReaching(consumer.port, consumer.child, Math.floor(EXPECTED.total / 2));
    first.process.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(linesAtError(first)).toEqual([]);
    await startProducer(kafka, url, producerDir);
    await statsReaching(consumer.port, consumer.child, EXPECTED.total);
    expectExact(await settledStats(consumer.port), EXPECTED);
  });

  it('splits partitions between two consumers of one group and rebalances when one leaves', async () => {
    const kafka = await startTestKafka();
    const a = await startConsumer(kafka, tempDataDir());
    await waitFor(() => assignmentOf(a.child, kafka.topic)?.length === 6, {
      message: 'consumer A to own all 6 partitions',
    });
    const b = await startConsumer(kafka, tempDataDir());
    await waitFor(
      () => {
        const [pa, pb] = [assignmentOf(a.child, kafka.topic) ?? [], assignmentOf(b.child, kafka.topic) ?? []];
        return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 6;
      },
      { message: 'both consumers to own some partitions' },
    );
    const { url } = await startReplay();
    await startProducer(kafka, url, tempDataDir());
    await waitFor(
      async () => {
        const [sa, sb] = await Promise.all([fetchStats(a.port), fetchStats(b.port)]);
        return sa.total > 0 && sb.total > 0 && sa.total + sb.total === EXPECTED.total;
      },
      { message: 'the two consumers to count disjoint shares adding up to the total' },
    );
    b.child.process.kill('SIGTERM');
    expect(await b.child.exited).toBe(0);
    await waitFor(() => assignmentOf(a.child, kafka.topic)?.length === 6, {
      message: 'A to take all partitions back',
    });
    // A rebuilds the partitions it did not have from the log: its counts become the whole.
    await statsReaching(a.port, a.child, EXPECTED.total);
    expectExact(await settledStats(a.port), EXPECTED);
  });

  it.skipIf(process.env.KAFKA_TEST_BROKERS)(
    'survives a 10 s broker outage: no loss, no duplicates, the stream paused instead of buffering',
    async () => {
      const kafka = await startTestKafka();
      const broker = kafka.broker;
      if (!broker) throw new Error('needs the in-process broker');
      // 300 events/s: the stream is still flowing during the whole outage (about 14 s of events).
      const { replay, url } = await startReplay({ ratePerSec: 300 });
      // The consumer first, in the group before the stream starts: on a loaded machine its start-up
      // would otherwise eat the stream the outage needs (the precondition below).
      const consumer = await startConsumer(kafka, tempDataDir());
      await waitFor(() => assignmentOf(consumer.child, kafka.topic)?.length === 6, {
        message: 'consumer to join',
      });
      const producer = await startProducer(kafka, url, tempDataDir(), { PRODUCER_MAX_IN_FLIGHT: '500' });
      await statsReaching(consumer.port, consumer.child, 300);
      // The test means something only if the outage starts with plenty of the stream left to send.
      expect(replay.progress).toBeLessThan(EVENTS_SENT - 1_500); // 5 s of stream: more than the 500 in flight
      await broker.stop();
      // The outage itself, 10 s, watching the producer's in-flight events meanwhile.
      let maxInFlight = 0;
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        maxInFlight = Math.max(maxInFlight, await inFlight(producer.port));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await broker.start();
      // Memory bounded: it filled its in-flight window and stopped reading there.
      expect(maxInFlight).toBeGreaterThan(0);
      expect(maxInFlight).toBeLessThanOrEqual(500);
      await statsReaching(consumer.port, consumer.child, EXPECTED.total, 120_000);
      expectExact(await settledStats(consumer.port), EXPECTED);
      // A pause is back-pressure, counted (not a warning): the stream paused at least once.
      expect(await producerMetric(producer.port, 'wikistream_producer_pauses_total')).toBeGreaterThan(0);
    },
    180_000,
  );

  it('dead-letters a poison record written straight to the topic and moves on', async () => {
    const kafka = await startTestKafka();
    const consumer = await startConsumer(kafka, tempDataDir());
    await waitFor(() => assignmentOf(consumer.child, kafka.topic)?.length === 6, {
      message: 'consumer to join',
    });
    const producer = kafka.client.producer();
    await producer.connect();
    await producer.send({
      topic: kafka.topic,
      messages: [{ key: 'x', value: 'this is not json', partition: 2 }],
    });
    await producer.disconnect();
    const { url } = await startReplay();
    await startProducer(kafka, url, tempDataDir());
    await statsReaching(consumer.port, consumer.child, EXPECTED.total);
    const body = await settledStats(consumer.port);
    expectExact(body, EXPECTED);
    expect(body.rejected).toBe(1);
    const [letter] = await readTopic(kafka, kafka.dlqTopic, 1);
    expect(letter?.value).toBe('this is not json');
    expect(letter?.headers['dlq-reason']).toBe('invalid_json');
    expect(letter?.headers['source-partition']).toBe('2');
    expect(letter?.headers['source-offset']).toBe('0');
  });

  it('counts invalid events from the stream as rejected, as embedded mode does (from the DLQ, once)', async () => {
    const kafka = await startTestKafka();
    const huge = JSON.parse(TEST_EVENTS[0] as string);
    huge.meta.id = 'huge-event';
    huge.comment = 'x'.repeat(1024 * 1024);
    const malformed = [
      '{"meta": {"id": "broken"',
      JSON.stringify({ type: 'edit', user: 'NoMeta', title: 'x' }),
      JSON.stringify({ meta: { id: 12345, dt: 'x', domain: 'y' } }),
      JSON.stringify(huge),
      'not json at all',
    ];
    const events = [...TEST_EVENTS.slice(0, 1_000), ...malformed.slice(0, 3), ...TEST_EVENTS.slice(1_000)];
    events.push(...malformed.slice(3));
    const { url } = await startReplay({ events });
    const producerDir = tempDataDir();
    const producer = await startProducer(kafka, url, producerDir);
    const consumer = await startConsumer(kafka, tempDataDir());
    await statsReaching(consumer.port, consumer.child, EXPECTED.total);
    await waitFor(async () => (await fetchStats(consumer.port)).rejected >= malformed.length, {
      message: 'the dead letters counted',
    });
    // A producer restarted from a cursor before the last two letters writes them again.
    producer.process.kill('SIGKILL');
    await producer.exited;
    const cursor = JSON.parse(readFileSync(join(producerDir, 'producer-cursor.json'), 'utf8'));
    cursor.cursor = JSON.stringify([
      { topic: 'eqiad.mediawiki.recentchange', partition: 0, offset: events.length - 4 },
    ]);
    writeFileSync(join(producerDir, 'producer-cursor.json'), JSON.stringify(cursor));
    const restarted = await startProducer(kafka, url, producerDir);
    const lastId = JSON.stringify([
      { topic: 'eqiad.mediawiki.recentchange', partition: 0, offset: events.length - 1 },
    ]);
    await waitFor(
      () => JSON.parse(readFileSync(join(producerDir, 'producer-cursor.json'), 'utf8')).cursor === lastId,
      { timeoutMs: 60_000, message: 'the restarted producer to resend the tail' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; producer log:\n${restarted.output()}`);
    });
    // The last two letters written again.
    expect(await readTopic(kafka, kafka.dlqTopic, 7)).toHaveLength(7);
    const broker = kafka.broker;
    if (broker) {
      await waitFor(() => broker.committedOffsets(kafka.groupId, kafka.dlqTopic)[0] === 7, {
        message: 'the consumer to have read all 7 letters',
      });
    }
    const body = await settledStats(consumer.port);
    expectExact(body, EXPECTED);
    expect(body.rejected).toBe(malformed.length);
  }, 150_000);

  it('refuses a bad REDPANDA_BROKER at start-up with a clear message', async () => {
    for (const bad of ['kafka://redpanda:9092', 'redpanda', 'redpanda:99999']) {
      const child = startChild('cmd/consumer/main.ts', { REDPANDA_BROKER: bad });
      expect(await child.exited).toBe(2);
      expect(child.output()).toContain('REDPANDA_BROKER must be host:port');
      expect(child.output()).not.toContain('    at '); // no stack trace
    }
  });
});
