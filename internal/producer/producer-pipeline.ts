import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { PeriodicCheckpoint } from '../checkpoint/periodic-checkpoint.js';
import { savedResumeCursor } from '../checkpoint/resume-cursor.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { WikimediaSource } from '../wikimedia/sse-source.js';
import { EventProducer } from './event-producer.js';
import { producerCheckpointSchema } from './producer-checkpoint-schema.js';

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
  readonly checkpoint: PeriodicCheckpoint<ProducerCheckpoint>;
  private acknowledged: string | undefined;
  private queued: string | undefined;
  private readonly log: Logger;

  constructor(
    private readonly config: Config,
    producer: Producer,
    log: Logger,
    private readonly metrics?: Metrics,
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
    const saved = await this.checkpoint.read(producerCheckpointSchema);
    const cursor = saved && savedResumeCursor(saved.cursor, this.checkpoint.path, this.log);
    if (saved?.url === this.config.source.url && cursor !== undefined) {
      this.acknowledged = cursor;
      this.queued = cursor;
      this.log.info({ cursor }, 'resuming after the last acknowledged event');
    } else if (saved?.url === this.config.source.url) {
      this.log.warn({ path: this.checkpoint.path }, 'no usable acknowledged cursor saved; starting live');
    } else if (saved) {
      this.log.warn({ saved: saved.url }, 'stream URL changed since the cursor was saved; starting live');
    }
    this.checkpoint.start();
    this.source.start();
  }

  /** Stop reading, send what was read, persist the acknowledged cursor. */
  async stop(): Promise<void> {
    this.source.stop();
    await this.events.drain();
    await this.checkpoint.stop();
  }

  private queue(id: string, send: () => void): void {
    send();
    this.queued = id;
    this.metrics?.producerInFlight.set(this.events.buffered);
    if (this.events.buffered >= this.config.kafka.producerMaxInFlight && !this.source.isPaused) {
      this.log.warn({ buffered: this.events.buffered }, 'broker is behind; pausing the stream');
      this.source.pause();
    }
  }

  private onAcknowledged(sseId: string): void {
    this.acknowledged = sseId;
    this.metrics?.producerInFlight.set(this.events.buffered);
    this.checkpoint.markDirty();
    if (this.source.isPaused && this.events.buffered <= this.config.kafka.producerMaxInFlight / 2) {
      this.source.resume();
    }
  }
}
