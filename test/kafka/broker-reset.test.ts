import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KafkaTestBroker } from '../kafka-broker/broker.js';
import { startTestKafka, type TestKafka } from '../support/kafka.js';
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

const PARTITIONS = 6;

/** Waits until the group has committed everything the broker holds: the consumer is caught up. */
async function caughtUp(broker: KafkaTestBroker, kafka: TestKafka): Promise<void> {
  await waitFor(
    () => {
      const ends = broker.topicEndOffsets(kafka.topic);
      const committed = broker.committedOffsets(kafka.groupId, kafka.topic);
      return ends.length === PARTITIONS && ends.every((end, p) => committed[p] === end);
    },
    { message: 'the consumer to commit every record of the old log' },
  );
}

/** The broker loses everything and comes back on the same port with empty topics. */
async function wipe(broker: KafkaTestBroker, kafka: TestKafka): Promise<void> {
  await broker.stopAndLoseData();
  // Created before clients can reconnect, so no Metadata request auto-creates them with 1 partition.
  broker.createTopic(kafka.topic, PARTITIONS);
  broker.createTopic(kafka.dlqTopic, 1);
  await broker.start();
}

/**
 * A stream whose broker is wiped in the middle: the consumer has counted the old log up to its
 * end; the producer is killed and resumes from an OLDER cursor (as after a crash), so the new log
 * begins with events that were already counted. Counts must come out exact: the new log counted
 * once, the re-sent events dropped by id.
 */
async function wipedMidStream(consumerDuringWipe: 'running' | 'stopped') {
  const kafka = await startTestKafka();
  const broker = kafka.broker;
  if (!broker) throw new Error('needs the in-process broker');
  const { replay, url } = await startReplay({ ratePerSec: 500 });
  const consumerDir = tempDataDir();
  let consumer = await startConsumer(kafka, consumerDir);
  await waitFor(() => consumer.child.output().includes('"joined the consumer group"'), {
    message: 'the consumer to join',
  });
  const producerDir = tempDataDir();
  const cursorPath = join(producerDir, 'producer-cursor.json');
  const producer = await startProducer(kafka, url, producerDir);
  const cursorOffset = () => {
    try {
      const { cursor } = JSON.parse(readFileSync(cursorPath, 'utf8')) as { cursor: string };
      return (JSON.parse(cursor) as Array<{ offset: number }>)[0]?.offset ?? -1;
    } catch {
      return -1; // not written yet
    }
  };
  await waitFor(() => cursorOffset() >= 500, { message: 'a cursor past 500 events' });
  const olderCursor = readFileSync(cursorPath, 'utf8');
  await waitFor(() => replay.progress >= 2_000, { message: '2,000 events sent' });
  replay.stall(true);
  await caughtUp(broker, kafka);
  const countedBefore = (await fetchStats(consumer.port)).total;
  expect(countedBefore).toBeLessThan(EXPECTED.total - 1_000); // plenty of the stream left
  producer.process.kill('SIGKILL');
  await producer.exited;
  if (consumerDuringWipe === 'stopped') {
    consumer.child.process.kill('SIGTERM'); // writes its checkpoint: counts and positions
    expect(await consumer.child.exited).toBe(0);
  }
  await wipe(broker, kafka);
  writeFileSync(cursorPath, olderCursor);
  replay.stall(false);
  await startProducer(kafka, url, producerDir);
  if (consumerDuringWipe === 'stopped') {
    // Let the new log grow past the old positions before the consumer looks: fetching at the old
    // position would then succeed and silently skip the new log's head.
    await waitFor(() => cursorOffset() === TEST_EVENTS.length - 1, {
      timeoutMs: 60_000,
      message: 'the producer to have the whole rest of the stream acknowledged',
    });
    consumer = await startConsumer(kafka, consumerDir);
  }
  await statsReaching(consumer.port, consumer.child, EXPECTED.total, 90_000);
  const body = await settledStats(consumer.port, 1_000);
  expectExact(body, EXPECTED);
  const errors = consumer.child
    .output()
    .split('\n')
    .filter((line) => line.includes('"the log went back'));
  expect(errors.length).toBeGreaterThan(0);
  if (consumerDuringWipe === 'stopped') {
    // The log end is past the old positions: only the check of the last counted record can tell.
    expect(
      errors.some((line) => line.includes('the record before the store position is not the one counted')),
    ).toBe(true);
  }
  expect(errors.every((line) => (JSON.parse(line) as { level: number }).level === 50)).toBe(true);
  const metrics = await (await fetch(`http://127.0.0.1:${consumer.port}/metrics`)).text();
  expect(metrics).toMatch(/^wikistream_log_replaced_total\{[^}]*\} [1-9]/m);
}

describe.skipIf(process.env.KAFKA_TEST_BROKERS)('a broker that comes back without its data', () => {
  it('is noticed by a running consumer, said at error level, and the new log counted once', async () => {
    await wipedMidStream('running');
  }, 150_000);

  it('is noticed on assignment even when the new log already grew past the old positions', async () => {
    await wipedMidStream('stopped');
  }, 150_000);
});
