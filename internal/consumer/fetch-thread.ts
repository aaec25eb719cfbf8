// The consumer's fetch thread (a worker_thread started by ConsumerPipeline): runs the kafkajs
// consumer, parses and validates each fetched batch (`parseRecords`), and hands it to the main
// thread, which plans, counts and stores it and serves HTTP.
//
// Why a thread: kafkajs fetches, inflates and decodes record batches on the thread that calls it,
// and fetches again only once every batch of the last fetch was handled, so on one thread its
// decoding, our parsing and our counting take turns. Here the fetch thread decodes and parses the
// next fetch while the main thread counts the last one (BENCHMARKS.md, issue 11). The guarantees
// stay on the main thread: a batch is committed only when the main thread says it is stored, and
// this thread holds at most MAX_IN_FLIGHT batches of a partition the main thread has not finished.
import { parentPort, workerData } from 'node:worker_threads';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { createKafka, inflateInline } from '../kafka/kafka-client.js';
import { createLogger } from '../log/logger.js';
import { partitionId } from '../store/stats-store.js';
import { packBatch, type TransferredBatch } from './batch-transfer.js';
import {
  consumerOptions,
  type FetchThreadData,
  type FromFetchThread,
  MAX_IN_FLIGHT,
  type ToFetchThread,
} from './fetch-thread-protocol.js';
import { parseOptionsOf } from './parse-records.js';

/** kafkajs restarts a crashed consumer forever if allowed; we allow this many per window. */
const MAX_RESTARTS = 10;
const RESTART_WINDOW_MS = 10 * 60_000;

const port = parentPort;
if (!port) throw new Error('fetch-thread.ts runs as a worker thread of the consumer');
const { config } = workerData as FetchThreadData;
const log = createLogger({
  level: config.log.level,
  pretty: config.log.pretty,
  name: 'wikistream-consumer',
}).child({ component: 'consumer', thread: 'fetch' });
const post = (message: FromFetchThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

const parseOptions = parseOptionsOf(config);
let restarts: number[] = [];
let generation = 0;
const seeks = new Map<string, number>();
/** Batches handed over and not yet finished by the main thread, by partition; and who waits for room. */
const inFlight = new Map<string, number>();
const waiting = new Map<string, () => void>();
/** A backlog (unfinished batches, all partitions) from which this thread parses what it hands over. */
const MAIN_BACKLOG = 2;
/** Commits run one after another, and all of them before the consumer stops. */
let commits: Promise<void> = Promise.resolve();

inflateInline(); // this thread only fetches: see inflateInline
const kafka = createKafka(config, log);
const consumer: Consumer = kafka.consumer({
  ...consumerOptions(config),
  retry: { restartOnFailure: async (err) => allowRestart(err) },
});

port.on('message', (message: ToFetchThread) => {
  switch (message.type) {
    case 'done': {
      if (message.generation !== generation) return; // counted before the last join cleared it
      const key = partitionId(message);
      inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
      waiting.get(key)?.();
      return;
    }
    case 'commit':
      commits = commits.then(() => commit(message.topic, message.partition, message.offset));
      return;
    case 'seek': {
      const key = partitionId(message);
      seeks.set(key, (seeks.get(key) ?? 0) + 1);
      consumer.seek({ topic: message.topic, partition: message.partition, offset: String(message.offset) });
      return;
    }
    case 'stop':
      void stop();
      return;
  }
});

observe();
start().catch((err: Error) => {
  post({ type: 'failed', message: err.message, name: err.name });
});

async function start(): Promise<void> {
  await consumer.connect();
  // The dead-letter topic too: `rejected` counts its records (see BatchProcessor).
  await consumer.subscribe({ topics: [config.kafka.topic, config.kafka.dlqTopic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.kafka.consumerConcurrency,
    eachBatch: (payload) => handOver(payload),
  });
  post({ type: 'started' });
}

/**
 * Hands the batch to the main thread, then lets kafkajs fetch on (`resolveOffset` moves only its
 * fetch position: commits come from the main thread once stored). Waits while the partition has
 * MAX_IN_FLIGHT batches unfinished, heartbeating, so a slow store slows fetching instead of
 * filling memory, and the group does not time us out meanwhile.
 */
async function handOver(payload: EachBatchPayload): Promise<void> {
  const { batch, isRunning, isStale, heartbeat, resolveOffset } = payload;
  if (!isRunning() || isStale() || batch.isEmpty()) return;
  const key = partitionId(batch);
  while ((inFlight.get(key) ?? 0) >= MAX_IN_FLIGHT) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      waiting.set(key, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    waiting.delete(key);
    if (!isRunning() || isStale()) return;
    await heartbeat().catch(() => {});
  }
  const stamp = { generation, seeks: seeks.get(key) ?? 0 };
  inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
  resolveOffset(batch.lastOffset());
  const form = chooseForm();
  // Packed in a later turn, so kafkajs sends the next fetch first and the parsing of this batch
  // overlaps the broker's answer (the batches of one partition keep their order: FIFO).
  setImmediate(() => {
    const packed = packBatch(batch, stamp, parseOptions, form);
    post({ type: 'batch', batch: packed.batch }, packed.transfer);
  });
}

/**
 * Who parses this batch: the main thread when it keeps up (this thread then only decodes and
 * copies, and kafkajs fetches again sooner), this thread when the main thread has a backlog.
 */
function chooseForm(): TransferredBatch['form'] {
  let unfinished = 0;
  for (const n of inFlight.values()) unfinished += n;
  return unfinished > MAIN_BACKLOG ? 'parsed' : 'raw';
}

async function commit(topic: string, partition: number, offset: number): Promise<void> {
  const started = performance.now();
  try {
    await consumer.commitOffsets([{ topic, partition, offset: String(offset) }]);
  } catch (err) {
    // Safe to let go: the store already holds this batch and its position; a redelivery is
    // skipped by position. Rethrowing would crash the consumer in the middle of a rebalance.
    log.warn({ err, topic, partition }, 'offset commit failed; the store position covers it');
  } finally {
    post({ type: 'committed', seconds: (performance.now() - started) / 1000 });
  }
}

async function stop(): Promise<void> {
  try {
    await commits;
    for (const wake of waiting.values()) wake();
    await consumer.stop();
    await consumer.disconnect();
  } finally {
    post({ type: 'stopped' });
    port?.close();
  }
}

async function allowRestart(err: Error): Promise<boolean> {
  const now = Date.now();
  restarts = restarts.filter((t) => now - t < RESTART_WINDOW_MS);
  restarts.push(now);
  const allowed = restarts.length <= MAX_RESTARTS;
  log.error(
    { err, restartsInWindow: restarts.length, max: MAX_RESTARTS, allowed },
    allowed ? 'consumer crashed; restarting' : 'consumer crashed too often; giving up',
  );
  return allowed;
}

function observe(): void {
  const { events } = consumer;
  consumer.on(events.GROUP_JOIN, ({ payload }) => {
    generation++;
    inFlight.clear(); // batches of the last generation are stale on the main thread: it finishes them as such
    post({
      type: 'joined',
      generation,
      memberId: payload.memberId,
      isLeader: payload.isLeader,
      assignment: payload.memberAssignment,
    });
  });
  consumer.on(events.CRASH, ({ payload }) => {
    post({
      type: 'crash',
      message: payload.error.message,
      name: payload.error.name,
      restart: payload.restart,
    });
  });
  consumer.on(events.REQUEST_TIMEOUT, ({ payload }) => {
    log.warn({ broker: payload.broker, apiName: payload.apiName }, 'Kafka request timed out');
  });
  consumer.on(events.REBALANCING, () => log.info('group rebalancing'));
  consumer.on(events.STOP, () => post({ type: 'consumer-stopped' }));
}
