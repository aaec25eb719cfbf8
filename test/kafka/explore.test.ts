import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listeningPort, startChild } from '../support/child-process.js';
import { expectExploreExact } from '../support/explore-expected.js';
import { startTestKafka, type TestKafka } from '../support/kafka.js';
import {
  TEST_EXPECTED as EXPECTED,
  settledStats,
  startReplay,
  statsReaching,
  TEST_EVENTS,
  tempDataDir,
} from '../support/pipeline.js';
import { waitFor } from '../support/wait-for.js';

// Issue 12 in Kafka mode: producer -> broker (6 partitions) -> consumer as separate processes. Every
// new query (one wiki, one user, bytes, pages, windows up to 24h) exactly equals an independent
// count of the events sent, also after the consumer is SIGKILLed mid-stream and restarted.
function start(entry: string, kafka: TestKafka, env: Record<string, string>) {
  const child = startChild(entry, {
    REDPANDA_BROKER: kafka.brokers,
    KAFKA_TOPIC: kafka.topic,
    KAFKA_DLQ_TOPIC: kafka.dlqTopic,
    KAFKA_GROUP_ID: kafka.groupId,
    KAFKA_PARTITIONS: '6',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    CHECKPOINT_INTERVAL_MS: '300',
    HTTP_HOST: '127.0.0.1',
    ...env,
  });
  return listeningPort(child).then((port) => ({ child, port }));
}

const producer = (kafka: TestKafka, url: string) =>
  start('cmd/producer/main.ts', kafka, {
    WIKIPEDIA_STREAM_URL: url,
    DATA_DIR: tempDataDir(),
    METRICS_PORT: '0',
    SSE_RECONNECT_MIN_MS: '20',
    SSE_RECONNECT_MAX_MS: '500',
  });
const consumer = (kafka: TestKafka, dataDir: string) =>
  start('cmd/consumer/main.ts', kafka, { DATA_DIR: dataDir, HTTP_PORT: '0', CONSUMER_CONCURRENCY: '3' });

describe('producer -> Kafka -> consumer: drill-downs, bytes, pages and windows', () => {
  it('answers every new query exactly', async () => {
    const kafka = await startTestKafka();
    const { url } = await startReplay();
    await producer(kafka, url);
    const { child, port } = await consumer(kafka, tempDataDir());
    await statsReaching(port, child, EXPECTED.total);
    await settledStats(port);
    await expectExploreExact(port, TEST_EVENTS);
  });

  it('stays exact when the consumer is SIGKILLed mid-stream and restarted', async () => {
    const kafka = await startTestKafka();
    const { url } = await startReplay({ ratePerSec: 1_500 });
    await producer(kafka, url);
    const dataDir = tempDataDir();
    const first = await consumer(kafka, dataDir);
    await statsReaching(first.port, first.child, Math.floor(EXPECTED.total / 2));
    await waitFor(() => existsSync(join(dataDir, 'consumer-checkpoint.json')), { message: 'a checkpoint' });
    first.child.process.kill('SIGKILL');
    expect(await first.child.exited).toBe('SIGKILL');
    const second = await consumer(kafka, dataDir);
    await statsReaching(second.port, second.child, EXPECTED.total);
    await settledStats(second.port);
    await expectExploreExact(second.port, TEST_EVENTS);
  });
});
