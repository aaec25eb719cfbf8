// Kafka-side benchmarks (issue 3), against the Kafka-protocol test broker in its own process:
// producer backfill from the replay server, consumer throughput next to a bare kafkajs consumer
// and the raw in-process limit, and end-to-end latency at 100 events/s.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '../internal/config/config.js';
import { ConsumerPipeline } from '../internal/consumer/consumer-pipeline.js';
import { deriveEvents, readRecordedEvents } from '../internal/replay/recorded-events.js';
import { MemoryStatsStore } from '../internal/store/memory-store.js';
import {
  fmt,
  median,
  REPO_ROOT,
  rawLimit,
  SHARED_EVENTS_DIR,
  startChild,
  startReplayChild,
  stopChild,
} from './support.js';

const EVENTS = Number(process.env.BENCH_KAFKA_EVENTS ?? 200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const silent = pino({ level: 'silent' });

function env(brokers: string, topic: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDPANDA_BROKER: brokers,
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    KAFKA_GROUP_ID: `${topic}-group`,
    LOG_LEVEL: 'warn',
    HTTP_HOST: '127.0.0.1',
    ...extra,
  };
}

async function endOffsetsSum(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } catch {
    return 0;
  } finally {
    await admin.disconnect();
  }
}

/** Producer binary: replay server (child) -> producer (child) -> broker (child). */
async function producerRun(kafka: Kafka, brokers: string, topic: string): Promise<number> {
  const replay = await startReplayChild(EVENTS);
  const dataDir = mkdtempSync(join(tmpdir(), 'wikistream-bench-'));
  let producer: ChildProcess | undefined;
  try {
    producer = spawn(process.execPath, ['--import', 'tsx', 'cmd/producer/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...env(brokers, topic, {
          WIKIPEDIA_STREAM_URL: replay.match[1] as string,
          DATA_DIR: dataDir,
          METRICS_PORT: '0',
        }),
      },
      stdio: 'ignore',
    });
    let start = 0;
    for (;;) {
      const n = await endOffsetsSum(kafka, topic);
      if (n > 0 && start === 0) start = performance.now(); // from the first acknowledged batch
      if (n >= EVENTS) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return EVENTS / ((performance.now() - start) / 1000);
  } finally {
    if (producer) await stopChild(producer);
    await stopChild(replay.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Our consumer pipeline in this process, memory store, fresh group: parse .. commit. */
async function consumerRun(brokers: string, topic: string, run: number): Promise<number> {
  const config = loadConfig(
    env(brokers, topic, { KAFKA_GROUP_ID: `${topic}-ours-${run}`, DATA_DIR: tmpdir() }),
  );
  const store = new MemoryStatsStore(config.dedupWindow);
  const kafka = new Kafka({ clientId: 'bench', brokers: [brokers], logLevel: logLevel.NOTHING });
  const pipeline = new ConsumerPipeline(
    kafka,
    config,
    store,
    {
      onFatal: (err) => {
        throw err;
      },
    },
    silent,
  );
  const start = performance.now();
  await pipeline.start();
  for (;;) {
    if ((await store.read(1)).total >= EVENTS) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const rate = EVENTS / ((performance.now() - start) / 1000);
  await pipeline.stop();
  return rate;
}

/** The baseline the issue names: eachBatch, JSON.parse, two Map increments, commit per batch. */
async function bareRun(brokers: string, topic: string, concurrency: number, run: number): Promise<number> {
  const kafka = new Kafka({ clientId: 'bench-bare', brokers: [brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${topic}-bare-${run}`, maxWaitTimeInMs: 250 });
  const byDomain = new Map<string, number>();
  const byUser = new Map<string, number>();
  let seen = 0;
  const start = performance.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: concurrency,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
      for (const m of batch.messages) {
        const event = JSON.parse(m.value?.toString() ?? '{}') as { meta: { domain: string }; user: string };
        byDomain.set(event.meta.domain, (byDomain.get(event.meta.domain) ?? 0) + 1);
        byUser.set(event.user, (byUser.get(event.user) ?? 0) + 1);
      }
      resolveOffset(batch.lastOffset());
      await commitOffsetsIfNecessary({
        topics: [
          {
            topic,
            partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }],
          },
        ],
      });
      seen += batch.messages.length;
      if (seen >= EVENTS) done();
    },
  });
  await finished;
  const rate = EVENTS / ((performance.now() - start) / 1000);
  await consumer.disconnect();
  return rate;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Replay at 100 events/s with meta.dt = time of sending; poll /stats and time each newest event. */
async function latencyRun(brokers: string, topic: string, seconds: number): Promise<number[]> {
  const replay = await startChild(
    ['cmd/replay/main.ts', '--port', '0', '--rate', '100', SHARED_EVENTS_DIR],
    /replaying \d+ events at (\S+)/,
  );
  const dirs = [mkdtempSync(join(tmpdir(), 'wb-')), mkdtempSync(join(tmpdir(), 'wb-'))];
  const children: ChildProcess[] = [];
  try {
    const consumer = await startChild(['cmd/consumer/main.ts'], /"port":(\d+).*running/, {
      ...env(brokers, topic, { DATA_DIR: dirs[0] as string, HTTP_PORT: '0', LOG_LEVEL: 'info' }),
    });
    children.push(consumer.child);
    const port = Number(consumer.match[1]);
    const producer = spawn(process.execPath, ['--import', 'tsx', 'cmd/producer/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...env(brokers, topic, {
          WIKIPEDIA_STREAM_URL: replay.match[1] as string,
          DATA_DIR: dirs[1] as string,
          METRICS_PORT: '0',
        }),
      },
      stdio: 'ignore',
    });
    children.push(producer);
    const samples: number[] = [];
    let last: string | null = null;
    let warmUntil = 0;
    const end = Date.now() + seconds * 1000 + 15_000;
    while (Date.now() < end) {
      const body = (await (await fetch(`http://127.0.0.1:${port}/stats?limit=1`)).json()) as {
        last_event_at: string | null;
        total: number;
      };
      const now = Date.now();
      if (body.last_event_at && body.last_event_at !== last) {
        last = body.last_event_at;
        if (warmUntil === 0)
          warmUntil = now + 3_000; // skip start-up
        else if (now > warmUntil) samples.push(now - Date.parse(body.last_event_at));
        if (now > warmUntil + seconds * 1000) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return samples;
  } finally {
    for (const child of children) await stopChild(child);
    await stopChild(replay.child);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

export default async function bench() {
  const broker = await startChild(['test/kafka-broker/main.ts', '0'], /listening (\S+)/, {
    KAFKA_TEST_BROKER_PARTITIONS: '6',
  });
  const brokers = broker.match[1] as string;
  const kafka = new Kafka({ clientId: 'bench-admin', brokers: [brokers], logLevel: logLevel.NOTHING });
  try {
    const produced: number[] = [];
    for (let i = 0; i < RUNS; i++) produced.push(await producerRun(kafka, brokers, `bench.produce.${i}`));
    const topic = 'bench.produce.0'; // holds EVENTS events in 6 partitions, as the producer wrote them
    const lines = deriveEvents(readRecordedEvents([SHARED_EVENTS_DIR]), EVENTS);
    rawLimit(lines);
    const ours: number[] = [];
    const bare: number[] = [];
    const raw: number[] = [];
    const concurrency = loadConfig({}).kafka.consumerConcurrency;
    for (let i = 0; i < RUNS; i++) {
      bare.push(await bareRun(brokers, topic, concurrency, i));
      ours.push(await consumerRun(brokers, topic, i));
      raw.push(rawLimit(lines));
    }
    const latency = await latencyRun(brokers, 'bench.latency', 30);
    const p = (x: number) => percentile(latency, x).toFixed(0);
    return {
      title: 'Kafka producer, consumer and end-to-end latency (issue 3)',
      markdown: `Broker: the Kafka-protocol test broker (\`test/kafka-broker\`) in its own process, 6 partitions, on loopback.
Events: ${fmt(EVENTS)} (the 4,122 recorded ones, then copies with fresh \`meta.id\`s). ${RUNS} runs each; medians.

| measure | events/s (median) | runs | target |
|---|---:|---|---|
| producer backfill: replay server -> \`cmd/producer\` -> broker (acks=all, idempotent, gzip) | ${fmt(median(produced))} | ${produced.map(fmt).join(', ')} | >= 20,000 |
| bare kafkajs consumer (eachBatch, JSON.parse, 2 Map increments, commit per batch), concurrency ${concurrency} | ${fmt(median(bare))} | ${bare.map(fmt).join(', ')} | |
| our consumer (parse, zod, DLQ check, dedup, plan, memory store, commit), concurrency ${concurrency} | ${fmt(median(ours))} | ${ours.map(fmt).join(', ')} | |
| raw in-process limit (JSON.parse + 2 Map increments) | ${fmt(median(raw))} | ${raw.map(fmt).join(', ')} | |
| **ours / bare kafkajs** | **${((median(ours) / median(bare)) * 100).toFixed(0)}%** | | >= 90% |
| **ours / raw** | **${((median(ours) / median(raw)) * 100).toFixed(0)}%** | | >= 50% |

End to end at 100 events/s (replay server with \`meta.dt\` set at sending -> producer -> broker -> consumer ->
\`/stats\`, polled every 5 ms; a sample is the age of the newest event when \`/stats\` first shows it;
${latency.length} samples over 30 s after a 3 s warm-up):

| p50 | p90 | p99 | max | target |
|---:|---:|---:|---:|---|
| ${p(50)} ms | ${p(90)} ms | ${p(99)} ms | ${Math.max(...latency).toFixed(0)} ms | p99 < 1 s |
`,
    };
  } finally {
    await stopChild(broker.child);
  }
}
