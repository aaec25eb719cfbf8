import { ErrorCode } from './errors.js';

/**
 * Idempotent-producer bookkeeping for one partition, the "faithful" level of notes §7 (after Kafka's
 * `ProducerStateManager`). kafkajs resends *every* partition of a failed Produce request with the same
 * base sequence, so retried batches must be recognised and answered with their original base offset
 * instead of being rejected (a 45/46 would be fatal in kafkajs).
 */

/** Kafka keeps the last five batches per producer (`ProducerStateManager.NumBatchesToRetain`). */
const BATCHES_TO_RETAIN = 5;
const INT32_MAX = 2 ** 31 - 1;

interface RetainedBatch {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
}

interface ProducerEntry {
  epoch: number;
  lastSeq: number;
  batches: RetainedBatch[];
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number }
  | { kind: 'error'; errorCode: ErrorCode };

export interface ProducedBatchIds {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
}

/** Sequences wrap to 0 after Int32.Max (Kafka `DefaultRecordBatch.incrementSequence`). */
function lastSequenceOf(baseSeq: number, lastOffsetDelta: number): number {
  return baseSeq > INT32_MAX - lastOffsetDelta
    ? baseSeq - (INT32_MAX - lastOffsetDelta) - 1
    : baseSeq + lastOffsetDelta;
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  /** Decides what to do with a batch before it is appended. Non-idempotent batches (pid −1) always append. */
  check(ids: ProducedBatchIds): SequenceCheck {
    if (ids.producerId < 0) return { kind: 'append' };
    const entry = this.producers.get(ids.producerId);
    // Unknown producer or a new epoch: accept whatever sequence comes (notes §7).
    if (!entry || ids.producerEpoch > entry.epoch) return { kind: 'append' };
    if (ids.producerEpoch < entry.epoch)
      return { kind: 'error', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH };
    const lastSeq = lastSequenceOf(ids.baseSequence, ids.lastOffsetDelta);
    const dup = entry.batches.find((b) => b.firstSeq === ids.baseSequence && b.lastSeq === lastSeq);
    if (dup) return { kind: 'duplicate', baseOffset: dup.baseOffset };
    const expected = entry.lastSeq === INT32_MAX ? 0 : entry.lastSeq + 1;
    if (ids.baseSequence !== expected) {
      return { kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
    }
    return { kind: 'append' };
  }

  /** Records a batch that `check` allowed and the log appended at `baseOffset`. */
  record(ids: ProducedBatchIds, baseOffset: number): void {
    if (ids.producerId < 0) return;
    let entry = this.producers.get(ids.producerId);
    if (!entry || ids.producerEpoch !== entry.epoch) {
      entry = { epoch: ids.producerEpoch, lastSeq: -1, batches: [] };
      this.producers.set(ids.producerId, entry);
    }
    const lastSeq = lastSequenceOf(ids.baseSequence, ids.lastOffsetDelta);
    entry.lastSeq = lastSeq;
    entry.batches.push({ firstSeq: ids.baseSequence, lastSeq, baseOffset });
    if (entry.batches.length > BATCHES_TO_RETAIN) entry.batches.shift();
  }
}
