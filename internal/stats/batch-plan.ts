import type { RecentChange } from '../wikimedia/event-schema.js';
import { StatsDelta } from './stats-delta.js';

/** A partition of a topic; the unit that offsets, positions and exactly-once are kept per. */
export interface PartitionKey {
  readonly topic: string;
  readonly partition: number;
}

/** Where a partition stands in the store: everything below `nextOffset` is applied. */
export interface PartitionPosition {
  readonly nextOffset: number;
  /** Whether this event id was applied recently (within the dedup window). */
  hasSeen(id: string): boolean;
}

/** One record of a partition; `event` is undefined for a record that was rejected (dead-lettered). */
export interface OffsetRecord {
  readonly offset: number;
  readonly event: RecentChange | undefined;
}

/**
 * What applying a batch changes, computed against one position and valid only for it:
 * stores apply it with compare-and-set on `fromOffset` (see PartitionLedger).
 */
export interface BatchPlan {
  readonly partition: PartitionKey;
  readonly fromOffset: number;
  readonly nextOffset: number;
  readonly delta: StatsDelta;
  /** Ids counted by this batch, in offset order, for the dedup window. */
  readonly newIds: readonly string[];
  /** Records below `fromOffset`: applied before, delivered again (crash, rebalance). */
  readonly redelivered: number;
  /** Records whose event id was already counted (a resumed stream, a producer retry). */
  readonly duplicates: number;
}

/**
 * The exactly-once core, shared by every store and by the embedded pipeline: skip what the
 * position says is applied, drop ids already counted, count the rest. Pure: nothing changes
 * until a store applies the plan, so a failed write leaves no trace to undo.
 */
export function planBatch(
  partition: PartitionKey,
  position: PartitionPosition,
  records: Iterable<OffsetRecord>,
  nextOffset: number,
  /** Wall clock at planning: event times further ahead are not trusted (see StatsDelta). */
  nowMs: number = Date.now(),
): BatchPlan {
  const delta = new StatsDelta(nowMs);
  const newIds: string[] = [];
  const inBatch = new Set<string>();
  let redelivered = 0;
  let duplicates = 0;
  for (const record of records) {
    if (record.offset < position.nextOffset) {
      redelivered++;
      continue;
    }
    const event = record.event;
    if (event === undefined) {
      delta.rejected++;
      continue;
    }
    const id = event.meta.id;
    if (inBatch.has(id) || position.hasSeen(id)) {
      duplicates++;
      continue;
    }
    inBatch.add(id);
    newIds.push(id);
    delta.add(event);
  }
  return {
    partition,
    fromOffset: position.nextOffset,
    nextOffset: Math.max(nextOffset, position.nextOffset),
    delta,
    newIds,
    redelivered,
    duplicates,
  };
}
