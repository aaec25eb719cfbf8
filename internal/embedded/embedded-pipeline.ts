import { join } from 'node:path';
import { PeriodicCheckpoint } from '../checkpoint/periodic-checkpoint.js';
import { savedResumeCursor } from '../checkpoint/resume-cursor.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { type OffsetRecord, type PartitionKey, planBatch } from '../stats/batch-plan.js';
import type { MemoryStatsStore } from '../store/memory-store.js';
import { WikimediaSource } from '../wikimedia/sse-source.js';
import { type EmbeddedCheckpoint, embeddedCheckpointSchema } from './embedded-checkpoint-schema.js';

/** The SSE stream as one partition: offsets are our own sequence numbers, kept in the checkpoint. */
const SSE_PARTITION: PartitionKey = { topic: 'wikimedia-sse', partition: 0 };

/**
 * source -> stats -> memory store, in one process. Events are applied in micro-batches (what
 * arrived in one turn of the event loop) through the same plan/apply path as the Kafka consumer,
 * so dedup and exactly-once are the consumer's. The checkpoint holds the cursor and the store
 * taken at the same instant: a restart, even after SIGKILL, resumes exactly there.
 */
export class EmbeddedPipeline {
  readonly source: WikimediaSource;
  /** Public for readiness and metrics: its `writable` says whether DATA_DIR still takes writes. */
  readonly checkpoint: PeriodicCheckpoint<EmbeddedCheckpoint>;
  private pending: Array<{ record: Omit<OffsetRecord, 'offset'>; id: string }> = [];
  private flushScheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  /** SSE id of the last event whose effect is in `store`: resume after it. */
  private cursor: string | undefined;
  private readonly log: Logger;

  constructor(
    private readonly config: Config,
    private readonly store: MemoryStatsStore,
    log: Logger,
    private readonly metrics?: Metrics,
  ) {
    this.log = log.child({ component: 'embedded' });
    // Snapshot and cursor are taken together, synchronously, so they always agree.
    this.checkpoint = new PeriodicCheckpoint(
      join(config.dataDir, 'embedded-checkpoint.json'),
      () => ({ version: 1, url: config.source.url, cursor: this.cursor ?? null, store: store.snapshot() }),
      config.checkpointIntervalMs,
      this.log,
    );
    this.source = new WikimediaSource(
      config.source,
      {
        onEvent: (event, _raw, id) => this.enqueue({ event }, id),
        onInvalid: (rejected, _raw, id) => {
          this.metrics?.eventsRejected.inc({ reason: rejected.reason });
          this.enqueue({ event: undefined }, id);
        },
        // Resume after the last event whose effect is applied, not the last one received: what
        // was received but not applied yet comes again, and the dedup window drops any repeat.
        cursor: () => this.cursor,
      },
      log.child({ component: 'source' }),
    );
    metrics?.bindSource(this.source);
  }

  async start(): Promise<void> {
    const saved = await this.checkpoint.read(embeddedCheckpointSchema);
    if (saved) {
      this.store.restore(saved.store);
      if (saved.url === this.config.source.url)
        this.cursor = savedResumeCursor(saved.cursor, this.checkpoint.path, this.log);
      else
        this.log.warn(
          { saved: saved.url },
          'stream URL changed since the checkpoint; counts kept, not resuming',
        );
      this.log.info({ cursor: this.cursor, path: this.checkpoint.path }, 'restored checkpoint');
    }
    this.source.start();
    this.checkpoint.start();
  }

  /** Stops reading, applies what arrived, writes the final checkpoint. */
  async stop(): Promise<void> {
    this.source.stop();
    await this.flush();
    await this.checkpoint.stop();
  }

  private enqueue(record: Omit<OffsetRecord, 'offset'>, id: string): void {
    this.pending.push({ record, id });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Flushes run one after another: each plan is made on the position the previous one left. */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const position = await this.store.position(SSE_PARTITION);
    const from = position.nextOffset;
    const records = batch.map((p, i) => ({ offset: from + i, event: p.record.event }));
    const plan = planBatch(SSE_PARTITION, position, records, from + batch.length);
    const stopTimer = this.metrics?.storeWriteSeconds.startTimer();
    await this.store.apply(plan);
    stopTimer?.();
    if (this.metrics) {
      this.metrics.eventsConsumed.inc(batch.length);
      this.metrics.batchSize.observe(batch.length);
      this.metrics.duplicatesDropped.inc(plan.duplicates);
    }
    this.cursor = batch[batch.length - 1]?.id;
    this.checkpoint.markDirty();
    if (plan.duplicates > 0) this.log.debug({ duplicates: plan.duplicates }, 'duplicate events dropped');
  }
}
