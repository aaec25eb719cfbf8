// What the Kafka benchmarks share: the broker (ours in a child, or KAFKA_BENCH_BROKERS), the
// events file, topics, and the binaries' environment.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { deriveEvents, readRecordedEvents } from '../internal/replay/recorded-events.js';
import { spawnNode, type Watched } from './processes.js';
import { SHARED_EVENTS_DIR } from './support.js';

export const PARTITIONS = 6;

export interface BenchBroker {
  readonly address: string;
  /** The broker process when it is ours (its CPU time is then measured); undefined for an external one. */
  readonly watched: Watched | undefined;
  readonly name: string;
}

/** KAFKA_BENCH_BROKERS=host:port[,host:port] to measure against a real broker; else the test broker in a child. */
export async function startBroker(): Promise<BenchBroker> {
  const external = process.env.KAFKA_BENCH_BROKERS;
  if (external) return { address: external, watched: undefined, name: `external broker ${external}` };
  const watched = spawnNode(['test/kafka-broker/main.ts', '0'], {
    KAFKA_TEST_BROKER_PARTITIONS: String(PARTITIONS),
  });
  const { match } = await watched.line(/listening (\S+)/);
  return {
    address: match[1] as string,
    watched,
    name: 'the Kafka-protocol test broker (`test/kafka-broker`)',
  };
}

/** `count` real-derived events (the recorded ones, then copies with fresh meta.ids) as NDJSON. */
export function writeEventsFile(dir: string, count: number): string {
  const path = join(dir, `events-${count}.ndjson`);
  writeFileSync(path, `${deriveEvents(readRecordedEvents([SHARED_EVENTS_DIR]), count).join('\n')}\n`);
  return path;
}

export function admin(brokers: string) {
  return new Kafka({
    clientId: 'bench-admin',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
}

export async function createTopic(brokers: string, topic: string): Promise<void> {
  const a = admin(brokers);
  await a.connect();
  try {
    await a.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  } finally {
    await a.disconnect();
  }
}

/** The binaries' environment for one topic: quiet logs, ephemeral ports, memory store. */
export function binaryEnv(brokers: string, topic: string, dataDir: string): Record<string, string> {
  return {
    REDPANDA_BROKER: brokers,
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    KAFKA_GROUP_ID: `${topic}.group`,
    KAFKA_PARTITIONS: String(PARTITIONS),
    DATA_DIR: dataDir,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
  };
}

export function consumerEnv(brokers: string, topic: string, dataDir: string): Record<string, string> {
  return { ...binaryEnv(brokers, topic, dataDir), STORAGE: 'memory' };
}

export async function statsTotal(port: number): Promise<number> {
  const body = (await (await fetch(`http://127.0.0.1:${port}/stats?limit=1`)).json()) as { total: number };
  return body.total;
}
