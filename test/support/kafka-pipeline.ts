import { listeningPort, type RunningChild, startChild } from './child-process.js';
import type { TestKafka } from './kafka.js';

/** The settings every Kafka test gives both binaries: the test broker, fresh topics and group. */
export function kafkaEnv(kafka: TestKafka): Record<string, string> {
  return {
    REDPANDA_BROKER: kafka.brokers,
    KAFKA_TOPIC: kafka.topic,
    KAFKA_DLQ_TOPIC: kafka.dlqTopic,
    KAFKA_GROUP_ID: kafka.groupId,
    KAFKA_PARTITIONS: '6',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    HTTP_HOST: '127.0.0.1',
  };
}

/** Faster than the defaults, for tests that are not about the defaults. */
const QUICK = { CHECKPOINT_INTERVAL_MS: '300', SSE_RECONNECT_MIN_MS: '20', SSE_RECONNECT_MAX_MS: '500' };

/**
 * `cmd/producer` as a child process, with its metrics port. `defaults: true` leaves the producer's
 * own settings (checkpoints, reconnects) at their defaults, for tests of what a user gets.
 */
export async function startProducer(
  kafka: TestKafka,
  url: string,
  dataDir: string,
  extra: Record<string, string> = {},
  options: { defaults?: boolean } = {},
): Promise<RunningChild & { port: number }> {
  const child = startChild('cmd/producer/main.ts', {
    ...kafkaEnv(kafka),
    ...(options.defaults ? {} : QUICK),
    WIKIPEDIA_STREAM_URL: url,
    DATA_DIR: dataDir,
    METRICS_PORT: '0',
    ...extra,
  });
  const port = await listeningPort(child);
  return Object.assign(child, { port });
}

/** `cmd/consumer` (memory store) as a child process, with its HTTP port. */
export async function startConsumer(kafka: TestKafka, dataDir: string, extra: Record<string, string> = {}) {
  const child = startChild('cmd/consumer/main.ts', {
    ...kafkaEnv(kafka),
    ...QUICK,
    DATA_DIR: dataDir,
    HTTP_PORT: '0',
    CONSUMER_CONCURRENCY: '3',
    ...extra,
  });
  const port = await listeningPort(child);
  return { child, port };
}
