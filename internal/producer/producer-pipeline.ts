import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import { CheckpointFile } from '../checkpoint/checkpoint-file.js';
import { savedResumeCursor } from '../checkpoint/resume-cursor.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { Backoff } from '../wikimedia/backoff.js';
import { EventProducer } from './event-producer.js';
import { producerCheckpointSchema } from './producer-checkpoint-schema.js';
import { InProcessSource, type ProducerSource, type ProducerSourceHandlers } from './producer-source.js';
import { ThreadedSource } from './threaded-source.js';

/**
 * A pause is normal back-pressure (a backfill pauses every few thousand events): counted, logged at
 * debug. One that lasts this long means the broker is not keeping up at all: that is a warning.
 */
export const STUCK_PAUSE_MS = 30_000;

interface ProducerCheckpoint {
  version: 1;
  url: string;
  /** SSE id of the last event the broker acknowledged (with acks=all). */
  cursor: string | undefined;
}

/**
 * Wikimedia SSE -> Kafka. Two cursors, on purpose:
 * - the persisted one is the last *acknowledged* event, written (atomically, fsynced) after every
 *   acknowledged send and before the send after next: after a crash we resume there, so nothing
 *   read-but-unsent is lost, and what is sent twice is under 2 x PRODUCER_MAX_BATCH events, which
 *   the consumer drops by `meta.id` (config enforces DEDUP_WINDOW >= 2 x PRODUCER_MAX_BATCH);
 * - a reconnect while running resumes after the last event *queued*: those are still in memory
 *   and will be sent.
 * In-flight events are bounded: past `maxInFlight` the stream is closed (not buffered) and
 * reopened from the queued cursor once the broker has caught up.
 */
export class ProducerPipeline {
  readonly source: ProducerSource;
  readonly events: EventProducer;
  /** Also read by `/metrics` and `/readyz`: a cursor that cannot be written holds up sending. */
  readonly checkpoint: CheckpointFile<ProducerCheckpoint>;
  private queued: string | undefined;
  private readonly log: Logger;
  private pausedAt = 0;
  private stuckTimer: NodeJS.Timeout | undefined;
  private readonly stuckPauseMs: number;

  constructor(
    private readonly config: Config,
    producer: Producer,
    log: Logger,
    private readonly metrics?: Metrics,
    options: {
      /** A pause longer than this is a warning (tests shorten it). */
      stuckPauseMs?: number;
      /** Read the stream on a thread of its own (what `cmd/producer` does); `onFatal` if it dies. */
      sourceThread?: { onFatal(err: Error): void };
    } = {},
  ) {
    this.stuckPauseMs = options.stuckPauseMs ?? STUCK_PAUSE_MS;
    const { sourceThread } = options;
    this.log = log.child({ component: 'producer' });
    this.checkpoint = new CheckpointFile(join(config.dataDir, 'producer-cursor.json'), this.log);
    this.events = new EventProducer(
      producer,
      {
        topic: config.kafka.topic,
        dlqTopic: config.kafka.dlqTopic,
        lingerMs: 5,
        maxBatch: config.kafka.producerMaxBatch,
      },
      (sseId, sent) => {
        this.source.released(sent.events + sent.deadLetterReasons.length);
        this.metrics?.eventsProduced.inc(sent.events);
        for (const reason of sent.deadLetterReasons) this.metrics?.eventsDeadLettered.inc({ reason });
        return this.onAcknowledged(sseId);
      },
      this.log,
    );
    const handlers: ProducerSourceHandlers = {
      onEvent: (eventId, raw, id) => this.queue(id, () => this.events.send(eventId, raw, id)),
      onInvalid: (rejected, raw, id) =>
        this.queue(id, () => this.events.deadLetter(rejected.reason, rejected.detail, raw, id, rejected.id)),
      cursor: () => this.queued,
    };
    const sourceLog = log.child({ component: 'source' });
    this.source = sourceThread
      ? new ThreadedSource(
          config.source,
          handlers,
          sourceLog,
          config.log,
          config.kafka.producerMaxInFlight,
          sourceThread.onFatal,
        )
      : new InProcessSource(config.source, handlers, sourceLog);
    metrics?.bindSource(this.source);
  }

  async start(): Promise<void> {
    const saved = await this.checkpoint.readAtStartup(producerCheckpointSchema);
    const cursor = saved && savedResumeCursor(saved.cursor, this.checkpoint.path, this.log);
    if (saved?.url === this.config.source.url && cursor !== undefined) {
      this.queued = cursor;
      this.log.info({ cursor }, 'resuming after the last acknowledged event');
    } else if (saved?.url === this.config.source.url) {
      this.log.warn({ path: this.checkpoint.path }, 'no usable acknowledged cursor saved; starting live');
    } else if (saved) {
      this.log.warn({ saved: saved.url }, 'stream URL changed since the cursor was saved; starting live');
    }
    this.source.start();
  }

  /** Stop reading, send what was read; every acknowledged send has persisted the cursor. */
  async stop(): Promise<void> {
    clearTimeout(this.stuckTimer);
    await this.source.stop();
    await this.events.drain();
  }

  private queue(id: string, send: () => void): void {
    send();
    this.queued = id;
    this.metrics?.producerInFlight.set(this.events.buffered);
    if (this.events.buffered >= this.config.kafka.producerMaxInFlight && !this.source.isPaused) {
      this.log.debug({ buffered: this.events.buffered }, 'broker is behind; pausing the stream');
      this.metrics?.producerPauses.inc();
      this.pausedAt = Date.now();
      this.source.pause();
      this.stuckTimer = setTimeout(() => {
        this.log.warn(
          { buffered: this.events.buffered, pausedForMs: Date.now() - this.pausedAt },
          'stream paused for long: the broker is not acknowledging; check the broker',
        );
      }, this.stuckPauseMs);
      this.stuckTimer.unref();
    }
  }

  /** Resolves once the cursor is on disk; retries a failed write (the next-but-one send waits). */
  private async onAcknowledged(sseId: string): Promise<void> {
    this.metrics?.producerInFlight.set(this.events.buffered);
    if (this.source.isPaused && this.events.buffered <= this.config.kafka.producerMaxInFlight / 2) {
      clearTimeout(this.stuckTimer);
      const pausedForMs = Date.now() - this.pausedAt;
      if (pausedForMs >= this.stuckPauseMs)
        this.log.info({ pausedForMs }, 'broker caught up; stream resumed');
      else this.log.debug({ pausedForMs }, 'broker caught up; stream resumed');
      this.source.resume();
    }
    const backoff = new Backoff(100, 10_000);
    for (;;) {
      try {
        // Serialised by CheckpointFile, so a later cursor never lands before an earlier one;
        // a failure is counted and logged (once per outage) there.
        await this.checkpoint.write({ version: 1, url: this.config.source.url, cursor: sseId });
        return;
      } catch {
        const retryInMs = backoff.next();
        await sleep(retryInMs);
      }
    }
  }
}
