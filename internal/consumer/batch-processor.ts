import { WikistreamError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { type BatchPlan, type OffsetRecord, type PartitionKey, planBatch } from '../stats/batch-plan.js';
import type { StatsStore } from '../store/stats-store.js';
import { Backoff } from '../wikimedia/backoff.js';
import { parseRecentChange, type RejectReason } from '../wikimedia/event-schema.js';

/** A record as fetched: its offset and raw value. */
export interface ConsumedRecord {
  readonly offset: number;
  readonly value: Buffer | null;
}

export interface DeadLetter {
  readonly reason: RejectReason;
  readonly detail: string;
  readonly value: Buffer;
  readonly partition: PartitionKey;
  readonly offset: number;
  readonly eventId?: string;
}

/** Where rejected records go (the DLQ topic); must resolve only once they are stored. */
export interface DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void>;
}

/** What the Kafka runner lets a batch do while it works. */
export interface BatchContext {
  heartbeat(): Promise<void>;
  /** False once the consumer stops or the partition was revoked/seeked: abandon, commit nothing. */
  isActive(): boolean;
}

export type BatchOutcome =
  | { readonly kind: 'applied'; readonly plan: BatchPlan }
  | { readonly kind: 'seek'; readonly offset: number }
  | { readonly kind: 'aborted' };

/**
 * One fetched batch of one partition: parse, dead-letter the bad, plan against the store's
 * position, apply; retried until the store takes it or the batch is no longer ours. The caller
 * commits `plan.nextOffset` only for an `applied` outcome, so a commit never passes a write.
 */
export class BatchProcessor {
  /** Partitions we asked the runner to seek, and where: a gap that persists after it is real. */
  private readonly sought = new Map<string, number>();

  constructor(
    private readonly store: StatsStore,
    private readonly deadLetters: DeadLetterSink,
    private readonly options: { maxEventBytes: number; retryMinMs: number; retryMaxMs: number },
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /** After a rebalance, forget seeks made under the previous assignment. */
  reset(): void {
    this.sought.clear();
  }

  async process(
    partition: PartitionKey,
    records: readonly ConsumedRecord[],
    lastOffset: number,
    ctx: BatchContext,
  ): Promise<BatchOutcome> {
    const backoff = new Backoff(this.options.retryMinMs, this.options.retryMaxMs);
    const parsed = this.parse(partition, records);
    let lettersSent = false;
    for (;;) {
      if (!ctx.isActive()) return { kind: 'aborted' };
      try {
        const position = await this.store.position(partition);
        const first = records[0]?.offset ?? lastOffset;
        const key = `${partition.topic}:${partition.partition}`;
        if (first > position.nextOffset) {
          // The store is behind what Kafka delivers (a memory store restored from an older
          // checkpoint, or rebuilt from nothing): go back to where the store stands, once.
          if (this.sought.get(key) !== position.nextOffset) {
            this.sought.set(key, position.nextOffset);
            return { kind: 'seek', offset: position.nextOffset };
          }
          this.log.warn(
            { ...partition, from: position.nextOffset, to: first },
            'offsets missing from the log (retention or compaction); continuing after the gap',
          );
        }
        const plan = planBatch(partition, position, parsed.records, lastOffset + 1);
        if (!lettersSent) {
          const fresh = parsed.letters.filter((l) => l.offset >= position.nextOffset);
          if (fresh.length > 0) await this.deadLetters.send(fresh);
          lettersSent = true;
        }
        if (plan.nextOffset === plan.fromOffset) return { kind: 'applied', plan };
        const stopTimer = this.metrics?.storeWriteSeconds.startTimer();
        await this.store.apply(plan);
        stopTimer?.();
        this.metrics?.eventsConsumed.inc(records.length);
        this.metrics?.batchSize.observe(records.length);
        this.metrics?.duplicatesDropped.inc(plan.duplicates);
        if (plan.redelivered > 0 || plan.duplicates > 0) {
          this.log.info(
            { ...partition, redelivered: plan.redelivered, duplicates: plan.duplicates },
            'skipped records already counted',
          );
        }
        return { kind: 'applied', plan };
      } catch (err) {
        if (err instanceof WikistreamError && err.code === 'STORE_CONFLICT') {
          this.log.warn({ err, ...partition }, 'store position moved; re-planning the batch');
          continue;
        }
        const retryInMs = backoff.next();
        this.log.error({ err, ...partition, retryInMs }, 'store write failed; retrying, not committing');
        await new Promise((resolve) => setTimeout(resolve, retryInMs));
        await ctx.heartbeat().catch(() => {});
      }
    }
  }

  private parse(partition: PartitionKey, records: readonly ConsumedRecord[]) {
    const out: OffsetRecord[] = [];
    const letters: DeadLetter[] = [];
    for (const record of records) {
      const value = record.value ?? Buffer.alloc(0);
      const result = parseRecentChange(value.toString('utf8'), this.options.maxEventBytes);
      if (result.ok) {
        out.push({ offset: record.offset, event: result.event });
        continue;
      }
      out.push({ offset: record.offset, event: undefined });
      this.metrics?.eventsRejected.inc({ reason: result.reason });
      letters.push({
        reason: result.reason,
        detail: result.detail,
        value,
        partition,
        offset: record.offset,
        ...(result.id === undefined ? {} : { eventId: result.id }),
      });
    }
    return { records: out, letters };
  }
}
