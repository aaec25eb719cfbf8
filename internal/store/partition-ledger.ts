import { WikistreamError } from '../errors.js';
import type { BatchPlan, PartitionKey, PartitionPosition } from '../stats/batch-plan.js';
import { DedupWindow } from '../stats/dedup-window.js';

export type ApplyDecision = 'apply' | 'already-applied';

/**
 * One partition's position as a store keeps it: next offset plus the dedup window. Every store
 * runs its writes through `decide` and `advance`, so the exactly-once rules live here once and
 * the memory store's tests cover them for Cassandra too.
 */
export class PartitionLedger implements PartitionPosition {
  private offset: number;
  private readonly window: DedupWindow;

  constructor(dedupWindow: number, nextOffset = 0, recentIds: Iterable<string> = []) {
    this.offset = nextOffset;
    this.window = new DedupWindow(dedupWindow, recentIds);
  }

  get nextOffset(): number {
    return this.offset;
  }

  hasSeen(id: string): boolean {
    return this.window.has(id);
  }

  recentIds(): string[] {
    return this.window.toArray();
  }

  /**
   * Compare-and-set on the position the plan was made from:
   * - same position: apply;
   * - the plan ends at or below where we are: it was applied already (a redelivery), skip it;
   * - anything else: the plan was made on a stale position; the caller re-reads and re-plans.
   */
  decide(plan: BatchPlan): ApplyDecision {
    if (plan.fromOffset === this.offset) return 'apply';
    if (plan.nextOffset <= this.offset) return 'already-applied';
    throw new WikistreamError(
      'STORE_CONFLICT',
      `batch for ${plan.partition.topic}[${plan.partition.partition}] planned from offset ${plan.fromOffset}, ` +
        `but the store is at ${this.offset}`,
      { retriable: true },
    );
  }

  /** Compare-and-set of a re-base (see StatsStore.rebase): only from where the caller saw us. */
  checkRebase(partition: PartitionKey, fromOffset: number): void {
    if (fromOffset === this.offset) return;
    throw new WikistreamError(
      'STORE_CONFLICT',
      `re-base of ${partition.topic}[${partition.partition}] from offset ${fromOffset}, ` +
        `but the store is at ${this.offset}`,
      { retriable: true },
    );
  }

  /** Call only after `checkRebase` passed and the new position is durable (or, for memory, set). */
  rebase(toOffset: number): void {
    this.offset = toOffset;
  }

  /** Call only after the plan's effect is durable (or, for memory, applied). */
  advance(plan: BatchPlan): void {
    for (const id of plan.newIds) this.window.add(id);
    this.offset = plan.nextOffset;
  }
}
