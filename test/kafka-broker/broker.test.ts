import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type Admin,
  CompressionTypes,
  type Consumer,
  type EachBatchPayload,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Producer,
} from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { type KafkaTestBroker, startKafkaBroker } from './broker.js';

/**
 * End-to-end tests with the real kafkajs 2.2.4 client against KafkaTestBroker. Every wait is a
 * condition with a deadline; the only deliberate sleep is the broker outage in the restart test.
 */

type Closable = () => Promise<unknown>;
const cleanups: Closable[] = [];

/** Registers a resource to close after the test, in reverse order (clients before the broker). */
function closeLater<T>(value: T, close: (v: T) => Promise<unknown>): T {
  cleanups.push(() => close(value));
  return value;
}

afterEach(async () => {
  while (cleanups.length > 0) {
    const close = cleanups.pop() as Closable;
    await close().catch(() => {});
  }
});

/** KAFKA_TEST_BROKER_DEBUG=1 prints the broker's diagnostic lines to stderr. */
const logger = process.env.KAFKA_TEST_BROKER_DEBUG
  ? (line: string) => process.stderr.write(`[broker] ${line}\n`)
  : undefined;

async function newBroker(defaultPartitions = 1): Promise<KafkaTestBroker> {
  const broker = await startKafkaBroker({ port: 0, defaultPartitions, logger });
  return closeLater(broker, (b) => b.close());
}

function newKafka(broker: KafkaTestBroker, clientId: string, extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId,
    brokers: [broker.address],
    logLevel: process.env.KAFKAJS_LOG ? logLevel.INFO : logLevel.NOTHING,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
    ...extra,
  });
}

async function connectedAdmin(kafka: Kafka): Promise<Admin> {
  const admin = closeLater(kafka.admin(), (a) => a.disconnect());
  await admin.connect();
  return admin;
}

async function connectedProducer(kafka: Kafka): Promise<Producer> {
  const producer = closeLater(
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Idempotent producers must keep retrying (notes §7); short backoff so an outage heals fast.
      retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: Number.MAX_SAFE_INTEGER },
    }),
    (p) => p.disconnect(),
  );
  await producer.connect();
  return producer;
}

function newConsumer(kafka: Kafka, groupId: string, maxWaitTimeInMs = 500): Consumer {
  return closeLater(
    kafka.consumer({
      groupId,
      heartbeatInterval: 300,
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      maxWaitTimeInMs,
    }),
    (c) => c.disconnect(),
  );
}

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Runs a TypeScript file with tsx in a child process; killed at cleanup if still alive. */
function spawnTs(file: string, args: string[]): { child: ChildProcess; lines: string[] } {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const script = fileURLToPath(new URL(file, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  closeLater(child, async (c) => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  return { child, lines };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Commits the batch through the eachBatch argument, the path that survives rebalances (notes §10). */
async function commitBatch({ batch, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> {
  const next = String(Number(batch.lastOffset()) + 1);
  await commitOffsetsIfNecessary({
    topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
  });
}

describe('KafkaTestBroker with kafkajs', () => {
  it('carries an idempotent gzip producer to a concurrent eachBatch consumer exactly once, with commits', async () => {
    const broker = await newBroker();
    const kafka = newKafka(broker, 'e2e');
    const topic = 'events';
    const groupId = 'e2e-group';

    const admin = await connectedAdmin(kafka);
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true })).toBe(
      true,
    );
    expect(broker.topicEndOffsets(topic)).toEqual([0, 0, 0, 0, 0, 0]);
    // A second create is answered 36 TOPIC_ALREADY_EXISTS, which kafkajs turns into `false`.
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] })).toBe(false);

    const total = 1200;
    const producer = await connectedProducer(kafka);
    for (let start = 0; start < total; start += 100) {
      await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: Array.from({ length: 100 }, (_, j) => {
          const id = start + j;
          return {
            key: `key-${id % 37}`,
            value: JSON.stringify({ id, payload: 'x'.repeat(200) }),
            headers: { 'event-id': String(id), source: Buffer.from('test-suite') },
          };
        }),
      });
    }
    expect(sum(broker.topicEndOffsets(topic))).toBe(total);
    expect(broker.topicEndOffsets(topic).every((n) => n > 0)).toBe(true);

    const seen = new Map<number, number>();
    let headerMismatches = 0;
    const consumer = newConsumer(kafka, groupId);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 3,
      eachBatch: async (payload) => {
        for (const message of payload.batch.messages) {
          const { id } = JSON.parse(String(message.value)) as { id: number };
          seen.set(id, (seen.get(id) ?? 0) + 1);
          if (String(message.headers?.['event-id']) !== String(id)) headerMismatches++;
          if (String(message.headers?.source) !== 'test-suite') headerMismatches++;
          payload.resolveOffset(message.offset);
        }
        await commitBatch(payload);
        await payload.heartbeat();
      },
    });

    await waitFor(`${total} messages`, () => seen.size === total);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(headerMismatches).toBe(0);

    const ends = broker.topicEndOffsets(topic);
    await waitFor('committed offsets at the end of every partition', async () => {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = new Map(committed?.partitions.map((p) => [p.partition, Number(p.offset)]));
      return ends.every((end, p) => byPartition.get(p) === end);
    });
    expect(broker.committedOffsets(groupId, topic)).toEqual(ends);

    const topicOffsets = await admin.fetchTopicOffsets(topic);
    expect(topicOffsets.map((o) => Number(o.high)).sort((a, b) => a - b)).toEqual(
      [...ends].sort((a, b) => a - b),
    );
    expect(topicOffsets.every((o) => o.low === '0')).toBe(true);
  });

  it('splits partitions between two group members and hands all to the survivor when one leaves', async () => {
    const broker = await newBroker(6);
    const kafka = newKafka(broker, 'group');
    const topic = 'shared';
    const groupId = 'split-group';
    broker.createTopic(topic, 6);

    const assignments = new Map<string, number[]>();
    const start = async (name: string): Promise<Consumer> => {
      const consumer = newConsumer(kafka, groupId);
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        assignments.set(name, [...(e.payload.memberAssignment[topic] ?? [])].sort());
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachBatch: async () => {} });
      return consumer;
    };
    const a = await start('a');
    const b = await start('b');

    await waitFor('both members assigned disjoint halves', () => {
      const pa = assignments.get('a') ?? [];
      const pb = assignments.get('b') ?? [];
      const all = new Set([...pa, ...pb]);
      return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 6 && all.size === 6;
    });

    await b.disconnect(); // LeaveGroup triggers a rebalance; `a` learns it from its next heartbeat
    await waitFor('the survivor owns every partition', () => assignments.get('a')?.length === 6);
    expect(assignments.get('a')).toEqual([0, 1, 2, 3, 4, 5]);
    await a.disconnect();
  });

  it('evicts a SIGKILLed member after its session timeout and rebalances the survivor', async () => {
    const broker = await newBroker();
    const kafka = newKafka(broker, 'eviction');
    const topic = 'evict';
    const groupId = 'evict-group';
    broker.createTopic(topic, 6);

    let survivorPartitions = 0;
    const survivor = newConsumer(kafka, groupId);
    survivor.on(survivor.events.GROUP_JOIN, (e) => {
      survivorPartitions = e.payload.memberAssignment[topic]?.length ?? 0;
    });
    await survivor.connect();
    await survivor.subscribe({ topic, fromBeginning: true });
    await survivor.run({ eachBatch: async () => {} });
    await waitFor('the survivor to own all partitions', () => survivorPartitions === 6);

    const sessionTimeoutMs = 2_000;
    const { child, lines } = spawnTs('./fixtures/group-member.ts', [
      broker.address,
      groupId,
      topic,
      String(sessionTimeoutMs),
    ]);
    const childShare = (): number => Number(lines.at(-1)?.split(' ')[1] ?? 0);
    await waitFor(
      'the child to get partitions',
      () => childShare() > 0 && survivorPartitions + childShare() === 6,
    );

    // No LeaveGroup and no heartbeats any more: only the session timer can remove it (notes §10).
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await waitFor('the survivor to own all partitions again', () => survivorPartitions === 6);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(sessionTimeoutMs - 100);
  });

  it('deduplicates an idempotent produce retried after a lost acknowledgement', async () => {
    const broker = await newBroker();
    const kafka = newKafka(broker, 'lost-ack');
    const topic = 'acks';
    broker.createTopic(topic, 2);
    const producer = await connectedProducer(kafka);

    const send = (from: number, count: number) =>
      producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: Array.from({ length: count }, (_, i) => ({
          partition: (from + i) % 2,
          value: String(from + i),
        })),
      });

    await send(0, 10);
    expect(broker.topicEndOffsets(topic)).toEqual([5, 5]);
    // Both partitions are appended, then the connection drops; kafkajs resends both with the same
    // sequences (notes §7) and must get the original offsets back.
    broker.loseResponses('Produce', 1);
    const [first] = await send(10, 10);
    expect(broker.topicEndOffsets(topic)).toEqual([10, 10]);
    expect(first?.baseOffset).toBe('5');
    await send(20, 4);
    expect(broker.topicEndOffsets(topic)).toEqual([12, 12]);
  });

  it('survives a broker outage on the same port without losing or duplicating records', async () => {
    const broker = await newBroker(3);
    const port = broker.port;
    const kafka = newKafka(broker, 'outage');
    const topic = 'resilient';
    const groupId = 'outage-group';
    broker.createTopic(topic, 3);

    const producer = await connectedProducer(kafka);
    const total = 400;
    let sent = 0;
    const producing = (async () => {
      while (sent < total) {
        await producer.send({
          topic,
          acks: -1,
          compression: CompressionTypes.GZIP,
          messages: Array.from({ length: 10 }, (_, j) => ({ key: `k${sent + j}`, value: String(sent + j) })),
        });
        sent += 10;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    // Distinct (partition, offset) → id: redelivery after a rebalance is allowed (at-least-once), but the
    // log itself must hold every id exactly once.
    const byOffset = new Map<string, string>();
    const consumer = newConsumer(kafka, groupId);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        for (const m of payload.batch.messages)
          byOffset.set(`${payload.batch.partition}:${m.offset}`, String(m.value));
        await commitBatch(payload);
      },
    });

    await waitFor('some traffic before the outage', () => sent >= 100 && byOffset.size >= 50);
    await broker.stop();
    const sentAtStop = sent;
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // the outage itself
    expect(sent - sentAtStop).toBeLessThanOrEqual(10); // nothing can be acknowledged while down
    await broker.start();
    expect(broker.port).toBe(port);

    await producing;
    expect(sum(broker.topicEndOffsets(topic))).toBe(total);
    await waitFor('consumer caught up after the restart', () => byOffset.size === total);
    const ids = [...byOffset.values()].map(Number).sort((x, y) => x - y);
    expect(ids).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('runs as a separate process through main.ts and exits cleanly on SIGTERM', async () => {
    const { child, lines } = spawnTs('./main.ts', ['0']);
    await waitFor('the listening line', () => lines.some((l) => l.startsWith('listening ')));
    const address = (lines.find((l) => l.startsWith('listening ')) ?? '').slice('listening '.length);
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);

    const kafka = new Kafka({ clientId: 'cli', brokers: [address], logLevel: logLevel.NOTHING });
    const admin = await connectedAdmin(kafka);
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([address]);
    expect(cluster.controller).toBe(cluster.brokers[0]?.nodeId);
    await admin.disconnect();

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('answers a long-polled fetch as soon as a record arrives', async () => {
    const broker = await newBroker();
    const kafka = newKafka(broker, 'long-poll');
    const topic = 'quiet';
    broker.createTopic(topic, 1);
    const maxWaitTimeInMs = 3_000;

    let receivedAt = 0;
    const consumer = newConsumer(kafka, 'long-poll-group', maxWaitTimeInMs);
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async () => {
        receivedAt = Date.now();
      },
    });
    await waitFor('the consumer to park a fetch', () => joined && broker.parkedFetches > 0);

    const producer = await connectedProducer(kafka);
    const sentAt = Date.now();
    await producer.send({ topic, acks: -1, messages: [{ value: 'wake up' }] });
    await waitFor('the record to arrive', () => receivedAt > 0, maxWaitTimeInMs * 2);
    // Woken by the append, not by max_wait_ms running out.
    expect(receivedAt - sentAt).toBeLessThan(1_000);
  });
});
