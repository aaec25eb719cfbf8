import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { onTestFinished } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker } from '../kafka-broker/broker.js';

export interface TestKafka {
  /** `host:port` list for REDPANDA_BROKER. */
  readonly brokers: string;
  /** The in-process broker, or undefined when KAFKA_TEST_BROKERS points at a real one (CI). */
  readonly broker: KafkaTestBroker | undefined;
  /** Fresh names, so tests sharing a real broker never see each other's data. */
  readonly topic: string;
  readonly dlqTopic: string;
  readonly groupId: string;
  readonly client: Kafka;
}

/**
 * Our Kafka-protocol test broker on an ephemeral port, or the real broker named by
 * KAFKA_TEST_BROKERS (GitHub Actions runs the same tests against Redpanda).
 */
export async function startTestKafka(): Promise<TestKafka> {
  const id = randomUUID().slice(0, 8);
  let brokers = process.env.KAFKA_TEST_BROKERS;
  let broker: KafkaTestBroker | undefined;
  if (!brokers) {
    broker = await startKafkaBroker({ defaultPartitions: 1 });
    const started = broker;
    onTestFinished(() => started.close());
    brokers = started.address;
  }
  const client = new Kafka({
    clientId: 'wikistream-test',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  return {
    brokers,
    broker,
    topic: `wikipedia.changes.${id}`,
    dlqTopic: `wikipedia.changes.${id}.dlq`,
    groupId: `wikistream-test-${id}`,
    client,
  };
}

interface ReadRecord {
  key: string | undefined;
  value: string;
  headers: Record<string, string>;
  partition: number;
}

/** Reads every record of a topic from the start until `count` arrived (or the deadline passes). */
export async function readTopic(
  kafka: TestKafka,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<ReadRecord[]> {
  const consumer = kafka.client.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const out: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        out.push({
          key: message.key?.toString(),
          value: message.value?.toString() ?? '',
          headers,
          partition,
        });
        if (out.length >= count) done();
      },
    });
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  } finally {
    await consumer.disconnect();
  }
  return out;
}
