import { WikistreamError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import {
  type BatchPlan,
  type OffsetRecord,
  type PartitionKey,
  type PartitionPosition,
  planBatch,
} from '../stats/batch-plan.js';
import { partitionId, type StatsStore } from '../store/stats-store.js';
import { Backoff } from '../wikimedia/backoff.js';
import type { RejectReason } from '../wikimedia/event-schema.js';
import { type ParsedRecords, type ParseOptions, parseRecords } from './parse-records.js';

/** A record as fetched: its offset, raw value and (for dead letters) headers. */
export interface ConsumedRecord {
  readonly offset: number;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;
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
  /** `plan` is the last chunk's (commit its `nextOffset`); `counted` the events of every chunk. */
  | { readonly kind: 'applied'; readonly plan: BatchPlan; readonly counted: number }
  | { readonly kind: 'seek'; readonly offset: number }
  | { readonly kind: 'aborted' };

/** A fetched batch after `parseRecords`, with its log bounds. */
export interface ParsedBatch extends ParsedRecords {
  readonly lastOffset: number;
  readonly highWatermark: number;
}

/** Offsets and log bounds of one fetched batch, as kafkajs reports them. */
export interface FetchedBatch {
  readonly records: readonly ConsumedRecord[];
  readonly lastOffset: number;
  /** The partition's high watermark when it was fetched: the log's end. */
  readonly highWatermark: number;
}

/**
 * One fetched batch of one partition: parse, dead-letter the bad, plan against the store's
 * position, apply; retried until the store takes it or the batch is no longer ours. The caller
 * commits `plan.nextOffset` only for an `applied` outcome, so a commit never passes a write.
 *
 * Before planning, it checks that the log is still the one the store's position was counted
 * from (see `checkLog`): a log that went back is re-based, a gap is reported, never silently.
 */
export class BatchProcessor {
  /** Partitions we asked the runner to seek, and where: a gap that persists after it is real. */
  private readonly sought = new Map<string, number>();
  /** Partitions whose log was checked against the store since the assignment. */
  private readonly verified = new Set<string>();

  constructor(
    private readonly store: StatsStore,
    private readonly deadLetters: DeadLetterSink,
    /** Records of `dlqTopic` are dead letters: each counts as one `rejected`, once. */
    private readonly options: ParseOptions & { retryMinMs: number; retryMaxMs: number },
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /** After a rebalance, forget seeks and checks made under the previous assignment. */
  reset(): void {
    this.sought.clear();
    this.verified.clear();
  }

  /**
   * A fetch larger than the store takes in one atomic write (`StatsStore.maxRecordsPerApply`) is
   * planned and applied in consecutive chunks, each planned against the position the previous one
   * left and applied as its own compare-and-set; the caller commits to Kafka only after the last.
   * Exactly-once holds chunk by chunk: a crash or a conflict between chunks leaves the store's
   * position at a chunk boundary, and the retry (or the redelivery) re-plans from there, skipping
   * by offset what is applied. A chunk the store still finds too large (long keys) is halved.
   * Splitting inside the store instead would need several conditional batches per plan, with a
   * reader or a crash able to see half a plan; here every write is a whole plan of its own.
   */
  async process(partition: PartitionKey, fetched: FetchedBatch, ctx: BatchContext): Promise<BatchOutcome> {
    return this.processParsed(
      partition,
      { ...fetched, ...parseRecords(partition, fetched.records, this.options) },
      ctx,
    );
  }

  /** `process` of a batch parsed already (by the fetch thread, see batch-transfer.ts). */
  async processParsed(
    partition: PartitionKey,
    parsed: ParsedBatch,
    ctx: BatchContext,
  ): Promise<BatchOutcome> {
    const { lastOffset } = parsed;
    const backoff = new Backoff(this.options.retryMinMs, this.options.retryMaxMs);
    for (const letter of parsed.letters) this.metrics?.eventsRejected.inc({ reason: letter.reason });
    let lettersSent = false;
    let chunkLimit = this.store.maxRecordsPerApply ?? Number.POSITIVE_INFINITY;
    let counted = 0;
    let chunks = 0;
    for (;;) {
      if (!ctx.isActive()) return { kind: 'aborted' };
      let chunkSize = 0;
      try {
        const position = await this.store.position(partition);
        const redirect = await this.checkLog(partition, position, parsed.records, parsed);
        if (redirect) return redirect;
        const chunk = nextChunk(parsed.records, position.nextOffset, chunkLimit, lastOffset + 1, chunks > 0);
        chunkSize = chunk.size;
        const plan = planBatch(partition, position, chunk.records, chunk.nextOffset);
        if (!lettersSent) {
          const fresh = parsed.letters.filter((l) => l.offset >= position.nextOffset);
          if (fresh.length > 0) await this.deadLetters.send(fresh);
          lettersSent = true;
        }
        if (plan.nextOffset === plan.fromOffset) return { kind: 'applied', plan, counted };
        const stopTimer = this.metrics?.storeWriteSeconds.startTimer();
        await this.store.apply(plan);
        stopTimer?.();
        this.verified.add(partitionId(partition)); // counted from this very log
        chunks++;
        counted += plan.delta.total;
        this.metrics?.eventsConsumed.inc(chunk.records.length);
        this.metrics?.batchSize.observe(chunk.records.length);
        this.metrics?.duplicatesDropped.inc(plan.duplicates);
        if (plan.redelivered > 0 || plan.duplicates > 0) {
          this.log.info(
            { ...partition, redelivered: plan.redelivered, duplicates: plan.duplicates },
            'skipped records already counted',
          );
        }
        if (plan.nextOffset > lastOffset) return { kind: 'applied', plan, counted };
        await ctx.heartbeat().catch(() => {}); // more chunks of this fetch to go
      } catch (err) {
        if (err instanceof WikistreamError && err.code === 'STORE_CONFLICT') {
          this.log.warn({ err, ...partition }, 'store position moved; re-planning the batch');
          continue;
        }
        if (err instanceof WikistreamError && err.code === 'STORE_PLAN_TOO_LARGE' && chunkSize > 1) {
          chunkLimit = Math.ceil(chunkSize / 2);
          this.log.warn(
            { ...partition, records: chunkSize, chunkLimit },
            'batch too large for the store; halving',
          );
          continue;
        }
        const retryInMs = backoff.next();
        this.log.error({ err, ...partition, retryInMs }, 'store write failed; retrying, not committing');
        await new Promise((resolve) => setTimeout(resolve, retryInMs));
        await ctx.heartbeat().catch(() => {});
      }
    }
  }

  /**
   * Is this still the log the store counted? Three signals, none of which trusts the group's
   * committed offset (a broker that lost its data lost those too):
   * - the log ends below the store's position (high watermark < next offset), and still does
   *   after we asked for the last record applied: it went back;
   * - on the first batch after an assignment, the record just before the position (the last one
   *   applied) must be an event the store counted, i.e. its id is in the dedup window; another
   *   event there means the log was replaced and has grown past the old position meanwhile, where
   *   fetching at the position would silently skip the new log's head;
   * - a batch starting above the position: offsets are missing (retention); after one seek back
   *   to make sure, reported as lost.
   * A replaced log is re-based to offset 0 (compare-and-set, counts and dedup window kept): every
   * record of the new log is then counted once, and what was counted before is dropped by id.
   */
  private async checkLog(
    partition: PartitionKey,
    position: PartitionPosition,
    records: readonly OffsetRecord[],
    fetched: { readonly lastOffset: number; readonly highWatermark: number },
  ): Promise<BatchOutcome | undefined> {
    const key = partitionId(partition);
    const next = position.nextOffset;
    const first = records[0]?.offset ?? fetched.lastOffset;
    if (fetched.highWatermark < next) {
      // Ask for the last record applied first: a log that really went back has no such offset,
      // and kafkajs answers OFFSET_OUT_OF_RANGE by reading from the log's start, so we come back
      // here. A high watermark merely lagging (a new leader catching up) answers that fetch with
      // nothing until the record is there, and then the check below passes.
      if (this.sought.get(key) !== next - 1) {
        this.sought.set(key, next - 1);
        this.verified.delete(key);
        return { kind: 'seek', offset: next - 1 };
      }
      return this.rebase(partition, key, next, {
        reason: 'log end below the store position, even when asked for the last record applied',
        logEnd: fetched.highWatermark,
      });
    }
    if (!this.verified.has(key) && next > 0) {
      const last = next - 1;
      const before = records.find((r) => r.offset === last);
      if (before) {
        this.verified.add(key);
        const id = before.event?.meta.id ?? before.rejectedId;
        if (id !== undefined && !position.hasSeen(id)) {
          return this.rebase(partition, key, next, {
            reason: 'the record before the store position is not the one counted',
            offset: last,
            eventId: id,
          });
        }
        if (id === undefined) {
          this.log.warn(
            { ...partition, offset: last },
            'cannot check the log: the last record counted was a rejected one',
          );
        }
      } else if (first > last) {
        if (this.sought.get(key) !== last) {
          this.sought.set(key, last);
          return { kind: 'seek', offset: last };
        }
        this.verified.add(key);
        this.log.warn(
          { ...partition, offset: last },
          'cannot check the log: the last record counted is gone from it',
        );
      }
      // Otherwise the batch lies wholly below that record (fetched before our seek): skipped below.
    }
    if (first > next) {
      // The store is behind what Kafka delivers (a memory store restored from an older checkpoint,
      // or rebuilt from nothing): go back to where the store stands, once.
      if (this.sought.get(key) !== next) {
        this.sought.set(key, next);
        return { kind: 'seek', offset: next };
      }
      this.metrics?.recordsLost.inc(labels(partition), first - next);
      this.log.error(
        { ...partition, from: next, to: first, lost: first - next },
        'records gone from the log before they were counted (retention or compaction); continuing after the gap',
      );
    }
    return undefined;
  }

  private async rebase(
    partition: PartitionKey,
    key: string,
    from: number,
    evidence: Record<string, unknown>,
  ): Promise<BatchOutcome> {
    this.log.error(
      { ...partition, storePosition: from, ...evidence },
      'the log went back (broker lost its data, or the topic was recreated): re-basing to offset 0 to count the new log; events counted before are dropped by id',
    );
    if (!this.store.rebase) {
      throw new WikistreamError('STORE_REBASE_UNSUPPORTED', 'this store cannot re-base a replaced log');
    }
    await this.store.rebase(partition, from, 0);
    this.metrics?.logReplaced.inc(labels(partition));
    this.verified.add(key);
    this.sought.delete(key);
    return { kind: 'seek', offset: 0 };
  }
}

/**
 * The records of the next chunk: at most `limit` past `position` (records are in offset order),
 * ending right after its last record, or at `end` (the fetch's end) when the rest fits. The first
 * chunk also carries the records below the position, so the plan counts them as redelivered.
 */
function nextChunk(
  records: readonly OffsetRecord[],
  position: number,
  limit: number,
  end: number,
  continuing: boolean,
): { records: readonly OffsetRecord[]; nextOffset: number; size: number } {
  let from = 0;
  while (from < records.length && (records[from] as OffsetRecord).offset < position) from++;
  if (records.length - from <= limit) {
    return {
      records: continuing ? records.slice(from) : records,
      nextOffset: end,
      size: records.length - from,
    };
  }
  const to = from + limit;
  return {
    records: records.slice(continuing ? from : 0, to),
    nextOffset: (records[to - 1] as OffsetRecord).offset + 1,
    size: limit,
  };
}

function labels(partition: PartitionKey) {
  return { topic: partition.topic, partition: String(partition.partition) };
}
