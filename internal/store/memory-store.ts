import type { BatchPlan, PartitionKey, PartitionPosition } from '../stats/batch-plan.js';
import { StatsAggregate, type StatsSnapshot } from '../stats/stats-aggregate.js';
import type {
  DomainView,
  DrillQuery,
  PagesQuery,
  PagesView,
  StatsView,
  StatsWindowView,
  UserView,
} from '../stats/stats-views.js';
import { PartitionLedger } from './partition-ledger.js';
import { type ApplyResult, partitionId, type StatsStore } from './stats-store.js';

/** JSON form of the whole store: counts and positions taken together, so they always agree. */
export interface MemoryStoreSnapshot {
  stats: StatsSnapshot;
  partitions: Array<{ topic: string; partition: number; nextOffset: number; recentIds: string[] }>;
}

/**
 * Counts in this process's memory. For ONE instance: a second consumer in the group would hold
 * only its own partitions' counts. Durable only through `snapshot()` written to a checkpoint file
 * (see checkpoint-file.ts); without one, the consumer rebuilds it from the earliest offset.
 */
export class MemoryStatsStore implements StatsStore {
  private stats = new StatsAggregate();
  private readonly ledgers = new Map<string, PartitionLedger>();

  constructor(private readonly dedupWindow: number) {}

  async position(partition: PartitionKey): Promise<PartitionPosition> {
    return this.ledger(partition);
  }

  async apply(plan: BatchPlan): Promise<ApplyResult> {
    const ledger = this.ledger(plan.partition);
    if (ledger.decide(plan) === 'already-applied') return 'already-applied';
    this.stats.apply(plan.delta);
    ledger.advance(plan);
    return 'applied';
  }

  /** Memory is the durable state here: positions are kept, since no other instance can move them. */
  release(_partitions: readonly PartitionKey[]): void {}

  async read(limit: number): Promise<StatsView> {
    return this.stats.view(limit);
  }

  async readWindow(minutes: number, limit: number): Promise<StatsWindowView> {
    return this.stats.windowView(minutes, limit);
  }

  async readDomain(domain: string, query: DrillQuery): Promise<DomainView | undefined> {
    return this.stats.domainView(domain, query);
  }

  async readUser(user: string, query: DrillQuery): Promise<UserView | undefined> {
    return this.stats.userView(user, query);
  }

  async readPages(query: PagesQuery): Promise<PagesView> {
    return this.stats.pagesView(query);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  snapshot(): MemoryStoreSnapshot {
    return {
      stats: this.stats.snapshot(),
      partitions: [...this.ledgers].map(([id, ledger]) => {
        const at = id.lastIndexOf(':');
        return {
          topic: id.slice(0, at),
          partition: Number(id.slice(at + 1)),
          nextOffset: ledger.nextOffset,
          recentIds: ledger.recentIds(),
        };
      }),
    };
  }

  restore(snapshot: MemoryStoreSnapshot): void {
    this.stats = StatsAggregate.fromSnapshot(snapshot.stats);
    this.ledgers.clear();
    for (const p of snapshot.partitions) {
      this.ledgers.set(partitionId(p), new PartitionLedger(this.dedupWindow, p.nextOffset, p.recentIds));
    }
  }

  private ledger(partition: PartitionKey): PartitionLedger {
    const id = partitionId(partition);
    let ledger = this.ledgers.get(id);
    if (!ledger) {
      ledger = new PartitionLedger(this.dedupWindow);
      this.ledgers.set(id, ledger);
    }
    return ledger;
  }
}
