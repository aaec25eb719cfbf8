import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { PeriodicCheckpoint } from '../checkpoint/periodic-checkpoint.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { WikimediaSource } from '../wikimedia/sse-source.js';
import { EventProducer } from './event-producer.js';

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
 * - the persisted one is the last *acknowledged* event: after a crash we resume there, so nothing
 *   read-but-unsent is lost (what was sent twice, the consumer drops by `meta.id`);
 * - a reconnect while running resumes after the last event *queued*: those are still in memory
 *   and will be sent.
 * In-flight events are bounded: past `maxInFlight` the stream is closed (not buffered) and
 * reopened from the queued cursor once the broker has caught up.
 */
export class ProducerPipeline {
  readonly source: WikimediaSource;
  readonly events: EventProducer;
  private readonly checkpoint: PeriodicCheckpoint<ProducerCheckpoint>;
  private acknowledged: string | undefined;
  private queued: string | undefined;
  private readonly log: Logger;
  private pausedAt = 0;
  private stuckTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: Config,
    producer: Producer,
    log: Logger,
    private readonly metrics?: Metrics,
    private readonly stuckPauseMs = STUCK_PAUSE_MS,
  ) {
    this.log = log.child({ component: 'producer' });
    this.checkpoint = new PeriodicCheckpoint(
      join(config.dataDir, 'producer-cursor.json'),
      () => ({ version: 1, url: config.source.url, cursor: this.acknowledged }),
      config.checkpointIntervalMs,
      this.log,
    );
    this.events = new EventProducer(
      producer,
      { topic: config.kafka.topic, dlqTopic: config.kafka.dlqTopic, lingerMs: 5, maxBatch: 2_000 },
      (sseId, sent) => {
        this.metrics?.eventsProduced.inc(sent.events);
        for (const reason of sent.deadLetterReasons) this.metrics?.eventsDeadLettered.inc({ reason });
        this.onAcknowledged(sseId);
      },
      this.log,
    );
    this.source = new WikimediaSource(
      config.source,
      {
        onEvent: (event, raw, id) => this.queue(id, () => this.events.send(event.meta.id, raw, id)),
        onInvalid: (rejected, raw, id) =>
          this.queue(id, () =>
            this.events.deadLetter(rejected.reason, rejected.detail, raw, id, rejected.id),
          ),
        cursor: () => this.queued,
      },
      log.child({ component: 'source' }),
    );
    metrics?.bindSource(this.source);
  }

  async start(): Promise<void> {
    const saved = await this.checkpoint.read();
    if (saved?.url === this.config.source.url) {
      this.acknowledged = saved.cursor;
      this.queued = saved.cursor;
      this.log.info({ cursor: saved.cursor }, 'resuming after the last acknowledged event');
    } else if (saved) {
      this.log.warn({ saved: saved.url }, 'stream URL changed since the cursor was saved; starting live');
    }
    this.checkpoint.start();
    this.source.start();
  }

  /** Stop reading, send what was read, persist the acknowledged cursor. */
  async stop(): Promise<void> {
    clearTimeout(this.stuckTimer);
    this.source.stop();
    await this.events.drain();
    await this.checkpoint.stop();
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

  private onAcknowledged(sseId: string): void {
    this.acknowledged = sseId;
    this.metrics?.producerInFlight.set(this.events.buffered);
    this.checkpoint.markDirty();
    if (this.source.isPaused && this.events.buffered <= this.config.kafka.producerMaxInFlight / 2) {
      clearTimeout(this.stuckTimer);
      const pausedForMs = Date.now() - this.pausedAt;
      if (pausedForMs >= this.stuckPauseMs)
        this.log.info({ pausedForMs }, 'broker caught up; stream resumed');
      else this.log.debug({ pausedForMs }, 'broker caught up; stream resumed');
      this.source.resume();
    }
  }
}
