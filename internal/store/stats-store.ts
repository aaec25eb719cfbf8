import type { BatchPlan, PartitionKey, PartitionPosition } from '../stats/batch-plan.js';
import type {
  DomainView,
  DrillQuery,
  PagesQuery,
  PagesView,
  StatsView,
  StatsWindowView,
  UserView,
} from '../stats/stats-views.js';

export type ApplyResult = 'applied' | 'already-applied';

/**
 * The port the consumer writes to and `/stats` reads from. Implementations: `MemoryStatsStore`
 * (one process; durable through a local checkpoint) and `CassandraStatsStore`. Both run through
 * `runStoreContract` (store-contract.ts).
 *
 * Exactly-once contract: the store owns each partition's position (next offset + recent ids).
 * A batch is planned against `position()` and applied with `apply()`, which is atomic (effect and
 * new position together) and idempotent (a plan already applied is a no-op). Offsets are committed
 * to Kafka only after `apply()` resolved; on (re)assignment the consumer seeks to the store's
 * position, so the store, not the Kafka commit, is the source of truth.
 *
 * Reads: every count kind of `COUNT_KINDS` arrives through `plan.delta` and is served by the
 * queries below. The optional ones answer 501 over HTTP for a store without them.
 */
export interface StatsStore {
  /** The partition's position, loaded from durable storage on first use after `release()`. */
  position(partition: PartitionKey): Promise<PartitionPosition>;
  /** Applies the plan and advances the position; throws STORE_CONFLICT (retriable) when stale. */
  apply(plan: BatchPlan): Promise<ApplyResult>;
  /**
   * The partition's log was replaced (a broker that came back without its data, a topic deleted and
   * recreated): moves the position from `fromOffset` back to `toOffset`, keeping the counts and the
   * dedup window, so every record of the new log is counted once and the events already counted
   * (a producer re-sending from its cursor) are dropped by id. Compare-and-set like `apply`:
   * STORE_CONFLICT (retriable) when the position is no longer `fromOffset`. Optional: without it
   * the consumer keeps a replaced partition stopped and says so at error level.
   */
  rebase?(partition: PartitionKey, fromOffset: number, toOffset: number): Promise<void>;
  /**
   * The most records one `apply` may carry (one atomic write has limits: Cassandra's batch caps);
   * the consumer applies a larger fetch in consecutive plans, each against the position the
   * previous one left. Absent: unbounded (the memory store).
   */
  readonly maxRecordsPerApply?: number;
  /** Drops cached positions of partitions this instance no longer owns (after a rebalance). */
  release(partitions: readonly PartitionKey[]): void;
  /** Counts for `/stats`, each ranking capped at `limit` entries (Infinity for all). */
  read(limit: number): Promise<StatsView>;
  /**
   * Counts of the last `minutes` (1..1440) minutes of event time, from the buckets that
   * `StatsAggregate` keeps (minutes for the last hour, 10 minutes beyond).
   */
  readWindow?(minutes: number, limit: number): Promise<StatsWindowView>;
  /** One wiki, all time or in a window; undefined for a wiki never counted (HTTP 404). */
  readDomain?(domain: string, query: DrillQuery): Promise<DomainView | undefined>;
  /** One user, all time or in a window; undefined for a user never counted (HTTP 404). */
  readUser?(user: string, query: DrillQuery): Promise<UserView | undefined>;
  /** The most edited pages in a window (all wikis, or `query.domain`). */
  readPages?(query: PagesQuery): Promise<PagesView>;
  /** Resolves when the backing storage answers; rejects otherwise (for `/readyz`). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function partitionId(partition: PartitionKey): string {
  return `${partition.topic}:${partition.partition}`;
}
