import { setImmediate } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import type { Kafka, Producer } from 'kafkajs';
import type { Config } from '../config/config.js';
import { createIdempotentProducer } from '../kafka/kafka-client.js';
import { startWorker } from '../lifecycle/start-worker.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PartitionKey } from '../stats/batch-plan.js';
import { partitionId, type StatsStore } from '../store/stats-store.js';
import { BatchProcessor } from './batch-processor.js';
import { type TransferredBatch, unpackBatch } from './batch-transfer.js';
import type { FetchThreadData, FromFetchThread, ToFetchThread } from './fetch-thread-protocol.js';
import { KafkaDeadLetters } from './kafka-dead-letters.js';
import { type ParseOptions, parseOptionsOf } from './parse-records.js';

export interface ConsumerHooks {
  /** After each applied batch (the memory store marks its checkpoint dirty). */
  onApplied?(events: number): void;
  /** The consumer crashed for good: the process must exit non-zero so it is restarted. */
  onFatal(error: Error): void;
}

/**
 * Kafka topic -> store, exactly once in effect. kafkajs runs on the fetch thread
 * (`fetch-thread.ts`), which hands over each fetched batch; here, per batch: parse, dead-letter,
 * plan against the store's position, apply, THEN ask the fetch thread to commit `lastOffset + 1`.
 * The store's position is the truth: a batch behind it is skipped, a batch ahead of it makes us
 * seek back. Partitions are processed concurrently, each partition's batches in order.
 *
 * Two threads so that kafkajs decodes the next fetch while this thread counts the last one
 * (kafkajs fetches again only once every batch of a fetch was handled, and on one thread its
 * decoding and our counting take turns). The fetch thread holds at most MAX_IN_FLIGHT unfinished
 * batches per partition; a batch fetched before our latest seek or group join is stale and
 * finished without being counted or committed.
 */
export class ConsumerPipeline {
  readonly deadLetters: KafkaDeadLetters;
  private readonly processor: BatchProcessor;
  private readonly dlqProducer: Producer;
  private readonly log: Logger;
  private thread: Worker | undefined;
  private assigned: PartitionKey[] = [];
  private joined = false;
  private stopping = false;
  /** The fetch thread's latest group join, as it last told us. */
  private generation = 0;
  /** Seeks asked of the fetch thread, by partition: a batch stamped with fewer was fetched before the latest. */
  private readonly seeks = new Map<string, number>();
  /** Per partition, the end of its chain of batches: each starts once the one before is finished. */
  private readonly lanes = new Map<string, Promise<void>>();
  private turns: Promise<void> = Promise.resolve();
  private readonly parseOptions: ParseOptions;
  private startWaiter: { resolve(): void; reject(err: Error): void } | undefined;
  private readonly threadStopped: Promise<void>;
  private markThreadStopped: () => void = () => {};

  constructor(
    kafka: Kafka,
    private readonly config: Config,
    private readonly store: StatsStore,
    private readonly hooks: ConsumerHooks,
    log: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.log = log.child({ component: 'consumer' });
    this.parseOptions = parseOptionsOf(config);
    this.dlqProducer = createIdempotentProducer(kafka);
    this.deadLetters = new KafkaDeadLetters(this.dlqProducer, config.kafka.dlqTopic, this.log, metrics);
    this.processor = new BatchProcessor(
      store,
      this.deadLetters,
      { ...this.parseOptions, retryMinMs: 200, retryMaxMs: 10_000 },
      this.log,
      metrics,
    );
    this.threadStopped = new Promise((resolve) => {
      this.markThreadStopped = resolve;
    });
  }

  /** Connected to the group and not crashed: half of `/readyz` (the store is the other half). */
  get isConnected(): boolean {
    return this.joined;
  }

  /** Resolves once the fetch thread's consumer is connected, subscribed and running. */
  async start(): Promise<void> {
    await this.dlqProducer.connect();
    const data: FetchThreadData = { config: this.config };
    const thread = startWorker(import.meta.url, 'fetch-thread', { workerData: data });
    this.thread = thread;
    thread.on('message', (message: FromFetchThread) => this.onMessage(message));
    thread.on('error', (err) => this.fail(err));
    thread.on('exit', (code) => {
      this.joined = false;
      this.markThreadStopped();
      if (!this.stopping) this.fail(new Error(`the fetch thread exited (code ${code})`));
    });
    await new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
    });
  }

  /** Finish the batch in progress of each partition (it commits), then leave the group, close the DLQ producer. */
  async stop(): Promise<void> {
    this.stopping = true; // batches not started are finished as stale; a store retry gives up
    await Promise.all(this.lanes.values());
    if (this.thread) {
      this.post({ type: 'stop' }); // after the commits just posted: the thread runs them first
      await this.threadStopped;
    }
    await this.dlqProducer.disconnect();
  }

  private onMessage(message: FromFetchThread): void {
    switch (message.type) {
      case 'started':
        this.startWaiter?.resolve();
        this.startWaiter = undefined;
        return;
      case 'failed':
        this.fail(Object.assign(new Error(message.message), { name: message.name }));
        return;
      case 'batch':
        this.enqueue(message.batch);
        return;
      case 'joined':
        this.onJoined(message);
        return;
      case 'crash':
        this.joined = false;
        this.log.error(
          { err: { message: message.message, name: message.name }, restart: message.restart },
          'consumer crash',
        );
        if (!message.restart) this.fail(Object.assign(new Error(message.message), { name: message.name }));
        return;
      case 'committed':
        this.metrics?.commitSeconds.observe(message.seconds);
        return;
      case 'consumer-stopped':
        this.joined = false;
        return;
      case 'stopped':
        this.markThreadStopped();
        return;
    }
  }

  /** Before start-up completed: start() rejects; after: the process must exit (onFatal). */
  private fail(err: Error): void {
    this.joined = false;
    if (this.startWaiter) {
      this.startWaiter.reject(err);
      this.startWaiter = undefined;
      return;
    }
    if (!this.stopping) this.hooks.onFatal(err);
  }

  private post(message: ToFetchThread): void {
    this.thread?.postMessage(message);
  }

  private enqueue(batch: TransferredBatch): void {
    const key = partitionId(batch);
    const lane = (this.lanes.get(key) ?? Promise.resolve()).then(() => this.finish(key, batch));
    this.lanes.set(key, lane);
  }

  /** A batch from before our latest group join or seek of its partition: not ours to count. */
  private isCurrent(key: string, batch: TransferredBatch): boolean {
    return (
      !this.stopping && batch.generation === this.generation && batch.seeks === (this.seeks.get(key) ?? 0)
    );
  }

  private async finish(key: string, batch: TransferredBatch): Promise<void> {
    const partition = { topic: batch.topic, partition: batch.partition };
    try {
      await this.turn();
      if (!this.isCurrent(key, batch)) return;
      const outcome = await this.processor.processParsed(partition, unpackBatch(batch, this.parseOptions), {
        heartbeat: async () => {}, // the fetch thread heartbeats while it waits for this batch
        isActive: () => this.isCurrent(key, batch),
      });
      if (outcome.kind === 'seek') {
        this.log.info({ ...partition, offset: outcome.offset }, 'seeking to the store position');
        this.seek(partition, outcome.offset);
      } else if (outcome.kind === 'applied') {
        this.hooks.onApplied?.(outcome.counted);
        this.post({ type: 'commit', ...partition, offset: outcome.plan.nextOffset });
      }
    } catch (err) {
      // BatchProcessor retries what the store and the broker can recover from; anything else is
      // a bug or a store that cannot go on: exit, so the orchestrator restarts us from the store.
      this.log.error({ err, ...partition }, 'batch failed; cannot go on');
      this.fail(err as Error);
    } finally {
      this.post({ type: 'done', ...partition, generation: batch.generation });
    }
  }

  /**
   * Resolves in a later turn of the event loop than the previous caller's: one batch starts per
   * turn, and sockets are served in between. Batches arrive as messages, and Node runs up to a
   * thousand queued messages (and what they start) before it looks at sockets again: without
   * this, a backfill would leave `/stats` unanswered until it caught up. Only the start is
   * spaced: a store write that waits on I/O (Cassandra) does not hold up other partitions.
   */
  private turn(): Promise<void> {
    this.turns = this.turns.then(() => setImmediate());
    return this.turns;
  }

  private seek(partition: PartitionKey, offset: number): void {
    const key = partitionId(partition);
    this.seeks.set(key, (this.seeks.get(key) ?? 0) + 1);
    this.post({ type: 'seek', ...partition, offset });
  }

  private onJoined(message: Extract<FromFetchThread, { type: 'joined' }>): void {
    this.joined = true;
    this.generation = message.generation;
    // Positions of partitions we held may have moved on another instance: reload on next use.
    this.store.release(this.assigned);
    this.processor.reset();
    this.assigned = Object.entries(message.assignment).flatMap(([topic, partitions]) =>
      partitions.map((partition) => ({ topic, partition })),
    );
    this.log.info(
      { memberId: message.memberId, isLeader: message.isLeader, assignment: message.assignment },
      'joined the consumer group',
    );
    void this.seekToStorePositions(this.assigned);
  }

  /**
   * Start every assigned partition where the store stands, not where the group committed: after a
   * crash the store may be behind the commit (memory store restored from an older checkpoint, or
   * rebuilt from nothing), and when the commit is at the end of the log no batch would ever arrive
   * to reveal it. We seek to the record just before the position (the last one applied), so the
   * first batch lets `BatchProcessor` check it is still the same log. Batches that race this seek
   * are stale (fetched before it) and finished uncounted.
   */
  private async seekToStorePositions(partitions: readonly PartitionKey[]): Promise<void> {
    for (const partition of partitions) {
      try {
        const position = await this.store.position(partition);
        this.seek(partition, Math.max(0, position.nextOffset - 1));
      } catch (err) {
        this.log.warn(
          { err, ...partition },
          'could not read the store position on assignment; batches will tell',
        );
      }
    }
  }
}
