import { ErrorCode } from './errors.js';
import { ProducerStateTable } from './producer-state.js';
import { type ParsedBatch, parseProducedBatch, setBaseOffset } from './record-batch.js';

/**
 * One partition's log: record batches kept as Buffers with their offsets in parallel arrays, so an
 * append is O(1) and a fetch is a binary search plus a concatenation of only the returned slice.
 * Single replica, so the high watermark is the log end offset (notes §7), and without retention the
 * log start offset is always 0.
 */

export interface AppendResult {
  errorCode: ErrorCode;
  /** −1 on error. For a deduplicated retry, the offset the original batch got. */
  baseOffset: number;
  /** True when the batch was an idempotent retry of one already in the log (nothing appended). */
  duplicate: boolean;
}

export interface ReadResult {
  /** Whole batches, the first one containing `fetchOffset`; empty when nothing is available. */
  batches: Buffer[];
  bytes: number;
}

export class PartitionLog {
  private readonly batches: Buffer[] = [];
  private readonly baseOffsets: number[] = [];
  private readonly lastOffsets: number[] = [];
  private readonly maxTimestamps: number[] = [];
  private readonly producers = new ProducerStateTable();
  private readonly listeners = new Set<() => void>();
  private endOffset = 0;

  get logStartOffset(): number {
    return 0;
  }

  get highWatermark(): number {
    return this.endOffset;
  }

  /**
   * Appends one produced batch (notes §7): validate, deduplicate idempotent retries, assign the base
   * offset, advance the end offset and wake parked fetches.
   */
  append(records: Buffer, verifyCrc: boolean): AppendResult {
    const parsed: ParsedBatch = parseProducedBatch(records, verifyCrc);
    if (!parsed.ok) return { errorCode: parsed.errorCode, baseOffset: -1, duplicate: false };
    const ids = parsed.header;
    const seq = this.producers.check(ids);
    if (seq.kind === 'duplicate')
      return { errorCode: ErrorCode.NONE, baseOffset: seq.baseOffset, duplicate: true };
    if (seq.kind === 'error') return { errorCode: seq.errorCode, baseOffset: -1, duplicate: false };

    // Copy: `records` is a view into the request frame, which must not be kept alive by the log.
    const batch = Buffer.from(records);
    const baseOffset = this.endOffset;
    setBaseOffset(batch, baseOffset);
    this.batches.push(batch);
    this.baseOffsets.push(baseOffset);
    this.lastOffsets.push(baseOffset + ids.lastOffsetDelta);
    this.maxTimestamps.push(ids.maxTimestamp);
    this.endOffset = baseOffset + ids.lastOffsetDelta + 1;
    this.producers.record(ids, baseOffset);
    for (const listener of [...this.listeners]) listener();
    return { errorCode: ErrorCode.NONE, baseOffset, duplicate: false };
  }

  /**
   * Reads whole batches starting with the one that contains `fetchOffset`. Starting there (not at an
   * earlier batch) matters: kafkajs treats a record set whose records are all below the fetch offset
   * as compacted away and skips the offset (notes §6, "Quirk"). The first batch is always returned,
   * even above `maxBytes`, so a large batch cannot stall a consumer (KIP-74, notes §6).
   */
  read(fetchOffset: number, maxBytes: number): ReadResult {
    let i = this.firstBatchEndingAtOrAfter(fetchOffset);
    const out: Buffer[] = [];
    let bytes = 0;
    for (; i < this.batches.length; i++) {
      const batch = this.batches[i] as Buffer;
      if (out.length > 0 && bytes + batch.length > maxBytes) break;
      out.push(batch);
      bytes += batch.length;
    }
    return { batches: out, bytes };
  }

  /** Whether a read from `fetchOffset` would return at least one batch. */
  hasDataFrom(fetchOffset: number): boolean {
    return fetchOffset < this.endOffset;
  }

  /**
   * ListOffsets by timestamp: the base offset of the first batch whose max timestamp reaches `ts`, or
   * −1. Batch granularity (Kafka finds the exact record); kafkajs drops records below the offset it
   * asked for only, so a consumer may see a few earlier records of that batch.
   */
  offsetForTimestamp(ts: number): number {
    const i = this.maxTimestamps.findIndex((t) => t >= ts);
    return i < 0 ? -1 : (this.baseOffsets[i] as number);
  }

  /** Registers a callback run after every append; returns the unsubscribe function. */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private firstBatchEndingAtOrAfter(offset: number): number {
    let lo = 0;
    let hi = this.lastOffsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.lastOffsets[mid] as number) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
