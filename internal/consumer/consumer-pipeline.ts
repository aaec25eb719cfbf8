import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Config } from '../config/config.js';
import { createIdempotentProducer } from '../kafka/kafka-client.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { PartitionKey } from '../stats/batch-plan.js';
import type { StatsStore } from '../store/stats-store.js';
import { BatchProcessor } from './batch-processor.js';
import { KafkaDeadLetters } from './kafka-dead-letters.js';

/** kafkajs restarts a crashed consumer forever if allowed; we allow this many per window. */
const MAX_RESTARTS = 10;
const RESTART_WINDOW_MS = 10 * 60_000;

export interface ConsumerHooks {
  /** After each applied batch (the memory store marks its checkpoint dirty). */
  onApplied?(events: number): void;
  /** The consumer crashed for good: the process must exit non-zero so it is restarted. */
  onFatal(error: Error): void;
}

/**
 * Kafka topic -> store, exactly once in effect:
 * `eachBatch` with autoCommit off; per batch: parse, dead-letter, plan against the store's
 * position, apply, THEN commit `lastOffset + 1` through the `commitOffsetsIfNecessary(offsets)`
 * the batch receives. The store's position is the truth: a batch behind it is skipped, a batch
 * ahead of it makes us seek back. Partitions are processed concurrently.
 */
export class ConsumerPipeline {
  readonly consumer: Consumer;
  readonly deadLetters: KafkaDeadLetters;
  private readonly processor: BatchProcessor;
  private readonly dlqProducer: Producer;
  private readonly log: Logger;
  private restarts: number[] = [];
  private assigned: PartitionKey[] = [];
  private joined = false;

  constructor(
    kafka: Kafka,
    private readonly config: Config,
    private readonly store: StatsStore,
    private readonly hooks: ConsumerHooks,
    log: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.log = log.child({ component: 'consumer' });
    this.consumer = kafka.consumer({
      groupId: config.kafka.groupId,
      sessionTimeout: config.kafka.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(config.kafka.sessionTimeoutMs / 10)),
      rebalanceTimeout: Math.max(config.kafka.sessionTimeoutMs, 30_000),
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      retry: { restartOnFailure: async (err) => this.allowRestart(err) },
    });
    this.dlqProducer = createIdempotentProducer(kafka);
    this.deadLetters = new KafkaDeadLetters(this.dlqProducer, config.kafka.dlqTopic, this.log, metrics);
    this.processor = new BatchProcessor(
      store,
      this.deadLetters,
      {
        maxEventBytes: config.source.maxEventBytes,
        dlqTopic: config.kafka.dlqTopic,
        retryMinMs: 200,
        retryMaxMs: 10_000,
      },
      this.log,
      metrics,
    );
    this.observe();
  }

  /** Connected to the group and not crashed: half of `/readyz` (the store is the other half). */
  get isConnected(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    await this.dlqProducer.connect();
    await this.consumer.connect();
    // The dead-letter topic too: `rejected` counts its records (see BatchProcessor).
    await this.consumer.subscribe({
      topics: [this.config.kafka.topic, this.config.kafka.dlqTopic],
      fromBeginning: true,
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.config.kafka.consumerConcurrency,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** Finish the batches in progress (they commit), leave the group, close the DLQ producer. */
  async stop(): Promise<void> {
    await this.consumer.stop();
    await this.consumer.disconnect();
    await this.dlqProducer.disconnect();
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, isRunning, isStale, heartbeat, resolveOffset, commitOffsetsIfNecessary } = payload;
    if (!isRunning() || isStale() || batch.isEmpty()) return;
    const partition = { topic: batch.topic, partition: batch.partition };
    const records = batch.messages.map((m) => ({
      offset: Number(m.offset),
      value: m.value,
      ...(m.headers === undefined ? {} : { headers: m.headers }),
    }));
    const fetched = {
      records,
      lastOffset: Number(batch.lastOffset()),
      highWatermark: Number(batch.highWatermark),
    };
    const outcome = await this.processor.process(partition, fetched, {
      heartbeat,
      isActive: () => isRunning() && !isStale(),
    });
    if (outcome.kind === 'aborted') return;
    if (outcome.kind === 'seek') {
      this.log.info({ ...partition, offset: outcome.offset }, 'seeking to the store position');
      this.consumer.seek({ ...partition, offset: String(outcome.offset) });
      return;
    }
    resolveOffset(batch.lastOffset());
    this.hooks.onApplied?.(outcome.counted);
    const stopTimer = this.metrics?.commitSeconds.startTimer();
    try {
      await commitOffsetsIfNecessary({
        topics: [
          {
            topic: batch.topic,
            partitions: [{ partition: batch.partition, offset: String(outcome.plan.nextOffset) }],
          },
        ],
      });
    } catch (err) {
      // Safe to let go: the store already holds this batch and its position; a redelivery is
      // skipped by position. Rethrowing would crash the consumer in the middle of a rebalance.
      this.log.warn({ err, ...partition }, 'offset commit failed; the store position covers it');
    } finally {
      stopTimer?.();
    }
    await heartbeat();
  }

  /**
   * Start every assigned partition where the store stands, not where the group committed: after a
   * crash the store may be behind the commit (memory store restored from an older checkpoint, or
   * rebuilt from nothing), and when the commit is at the end of the log no batch would ever arrive
   * to reveal it. We seek to the record just before the position (the last one applied), so the
   * first batch lets `BatchProcessor` check it is still the same log. Batches that race this seek
   * are still safe: `BatchProcessor` skips what is below the position and asks for a seek when a
   * batch starts above it.
   */
  private async seekToStorePositions(partitions: readonly PartitionKey[]): Promise<void> {
    for (const partition of partitions) {
      try {
        const position = await this.store.position(partition);
        this.consumer.seek({ ...partition, offset: String(Math.max(0, position.nextOffset - 1)) });
      } catch (err) {
        this.log.warn(
          { err, ...partition },
          'could not read the store position on assignment; batches will tell',
        );
      }
    }
  }

  private async allowRestart(err: Error): Promise<boolean> {
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    this.restarts.push(now);
    const allowed = this.restarts.length <= MAX_RESTARTS;
    this.log.error(
      { err, restartsInWindow: this.restarts.length, max: MAX_RESTARTS, allowed },
      allowed ? 'consumer crashed; restarting' : 'consumer crashed too often; giving up',
    );
    return allowed;
  }

  private observe(): void {
    const { events } = this.consumer;
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      // Positions of partitions we held may have moved on another instance: reload on next use.
      this.store.release(this.assigned);
      this.processor.reset();
      this.assigned = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      );
      this.log.info(
        { memberId: payload.memberId, isLeader: payload.isLeader, assignment: payload.memberAssignment },
        'joined the consumer group',
      );
      void this.seekToStorePositions(this.assigned);
    });
    this.consumer.on(events.CRASH, ({ payload }) => {
      this.joined = false;
      this.log.error({ err: payload.error, restart: payload.restart }, 'consumer crash');
      if (!payload.restart) this.hooks.onFatal(payload.error);
    });
    this.consumer.on(events.REQUEST_TIMEOUT, ({ payload }) => {
      this.log.warn({ broker: payload.broker, apiName: payload.apiName }, 'Kafka request timed out');
    });
    this.consumer.on(events.REBALANCING, () => this.log.info('group rebalancing'));
    this.consumer.on(events.STOP, () => {
      this.joined = false;
    });
  }
}
