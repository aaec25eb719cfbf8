import { type Client, types } from 'cassandra-driver';
import { WikistreamError } from '../../errors.js';
import type { BatchPlan, PartitionKey, PartitionPosition } from '../../stats/batch-plan.js';
import type { CountKind } from '../../stats/counts.js';
import { DedupWindow } from '../../stats/dedup-window.js';
import type { MinuteCounts } from '../../stats/minute-buckets.js';
import { StatsDelta } from '../../stats/stats-delta.js';
import { PartitionLedger } from '../partition-ledger.js';
import { type ApplyResult, partitionId } from '../stats-store.js';
import { buildApplyBatch, buildRebaseBatch, rowKey, type TouchedRows } from './apply-batch.js';
import { decodeMinute } from './delta-codec.js';
import { toStoreError } from './driver-errors.js';
import type { Change } from './followed-view.js';
import { pagedRows, readStatics } from './paged-rows.js';
import {
  isRowKind,
  minuteSlotKey,
  type PartitionStatics,
  storedText,
  toNumber,
  windowFromIdRows,
} from './partition-rows.js';
import type { Statements } from './statements.js';

const { localQuorum, localSerial } = types.consistencies;

/** Keys per `IN` read: bounded so one read stays a modest single-partition slice. */
const IN_CHUNK = 500;
export interface PartitionWriterOptions {
  readonly client: Client;
  readonly cql: Statements;
  readonly dedupWindow: number;
  readonly pageSize?: number;
  readonly now: () => number;
  /** Told of every batch this instance applied, so its own `/stats` shows it at once. */
  readonly onApplied: (partition: PartitionKey, change: Change) => void;
}

/** A partition this instance writes: its position (ledger) and the statics it was read with. */
interface Owned {
  statics: PartitionStatics;
  readonly ledger: PartitionLedger;
}

/**
 * The write path: positions of the Kafka partitions this instance consumes, and `apply()` as ONE
 * conditional batch per plan (`IF next_offset = plan.fromOffset`) writing absolute values. A
 * replay (redelivery, a retry after a lost acknowledgement, a zombie after a rebalance) fails its
 * condition and is decided by the shared PartitionLedger rules instead of counting twice.
 *
 * A position is cached once read (the ledger) and dropped whenever the outcome of a write is
 * unknown or the condition failed, so the next call re-reads the truth at LOCAL_SERIAL.
 * Operations on one partition run one at a time, so a load never races the write that follows it.
 */
export class PartitionWriter {
  private readonly owned = new Map<string, Owned>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: PartitionWriterOptions) {}

  position(partition: PartitionKey): Promise<PartitionPosition> {
    return this.exclusive(partitionId(partition), async () => (await this.ownedPartition(partition)).ledger);
  }

  apply(plan: BatchPlan): Promise<ApplyResult> {
    const id = partitionId(plan.partition);
    return this.exclusive(id, async () => {
      const owned = await this.ownedPartition(plan.partition);
      if (owned.ledger.decide(plan) === 'already-applied') return 'already-applied';
      if (plan.nextOffset === plan.fromOffset) return 'applied';
      const { client, cql, dedupWindow } = this.options;
      const { topic, partition } = plan.partition;
      const batch = await this.guard(id, `reading rows for ${topic}[${partition}]`, async () => {
        if (!owned.statics.exists) {
          await client.execute(cql.registerPartition, [topic, partition], {
            prepare: true,
            isIdempotent: true,
          });
        }
        return buildApplyBatch({
          cql,
          topic,
          partition,
          statics: owned.statics,
          plan,
          touched: await this.readTouched(plan),
          dedupWindow,
          windowAfter: () => {
            const window = new DedupWindow(dedupWindow, owned.ledger.recentIds());
            for (const newId of plan.newIds) window.add(newId);
            return window.toArray();
          },
          nowMs: this.options.now(),
        });
      });
      const result = await this.conditionalBatch(
        id,
        `writing offsets ${plan.fromOffset}..${plan.nextOffset} of ${topic}[${partition}]`,
        batch.queries,
      );
      const base = owned.statics.offsetBase;
      if (result.wasApplied()) {
        owned.statics = batch.statics;
        owned.ledger.advance(plan);
        this.options.onApplied(plan.partition, {
          seq: batch.batch,
          fromOffset: plan.fromOffset + base,
          toOffset: plan.nextOffset + base,
          delta: plan.delta,
        });
        return 'applied';
      }
      // The condition failed: the partition moved on without us (our earlier attempt whose
      // acknowledgement was lost, or another instance after a rebalance). Re-read next time.
      // The plan is covered only if the partition is still on the log it was planned on (same
      // offset base: no re-base since) and already past its end.
      this.owned.delete(id);
      const now = await this.guard(id, `reading the position of ${topic}[${partition}]`, () =>
        readStatics(this.options.client, this.options.cql, plan.partition, localSerial),
      );
      const covered =
        now.offsetBase === base &&
        new PartitionLedger(1, now.nextOffset - base).decide(plan) === 'already-applied';
      if (covered) return 'already-applied';
      throw new WikistreamError(
        'STORE_CONFLICT',
        `compare-and-set on ${topic}[${partition}] at offset ${plan.fromOffset} failed; re-read the position`,
        { retriable: true },
      );
    });
  }

  /**
   * Re-bases a replaced log (see StatsStore.rebase): one conditional batch, compare-and-set on
   * the stored position, like `apply` (`buildRebaseBatch` says why the stored offset moves on).
   */
  rebase(key: PartitionKey, fromOffset: number, toOffset: number): Promise<void> {
    const id = partitionId(key);
    return this.exclusive(id, async () => {
      const owned = await this.ownedPartition(key);
      owned.ledger.checkRebase(key, fromOffset);
      if (fromOffset === toOffset) return;
      const batch = buildRebaseBatch({
        cql: this.options.cql,
        topic: key.topic,
        partition: key.partition,
        statics: owned.statics,
        fromOffset,
        toOffset,
      });
      const result = await this.conditionalBatch(
        id,
        `re-basing ${key.topic}[${key.partition}] from offset ${fromOffset} to ${toOffset}`,
        batch.queries,
      );
      if (!result.wasApplied()) {
        this.owned.delete(id);
        throw new WikistreamError(
          'STORE_CONFLICT',
          `re-base of ${key.topic}[${key.partition}] from offset ${fromOffset} lost its compare-and-set; re-read the position`,
          { retriable: true },
        );
      }
      const storedFrom = owned.statics.nextOffset;
      owned.statics = batch.statics;
      owned.ledger.rebase(toOffset);
      this.options.onApplied(key, {
        seq: batch.batch,
        fromOffset: storedFrom,
        toOffset: batch.statics.nextOffset,
        delta: new StatsDelta(),
      });
    });
  }

  /** Forgets cached positions: the next use re-reads them (after a rebalance). */
  release(partitions: readonly PartitionKey[]): void {
    for (const partition of partitions) this.owned.delete(partitionId(partition));
  }

  /**
   * Runs a conditional (LWT) batch on one partition's static columns and rows. Every write that
   * moves a position goes through here, at LOCAL_QUORUM / LOCAL_SERIAL, and is not idempotent for
   * the driver: a blind resend could only fail its condition, and the caller's retry re-reads the
   * position anyway, which decides it properly.
   */
  private conditionalBatch(
    id: string,
    doing: string,
    queries: Array<{ query: string; params: unknown[] }>,
  ): Promise<types.ResultSet> {
    return this.guard(id, doing, () =>
      this.options.client.batch(queries, {
        prepare: true,
        isIdempotent: false,
        consistency: localQuorum,
        serialConsistency: localSerial,
      }),
    );
  }

  /**
   * This instance's cached state of a partition it writes, loaded on first use: statics read at
   * LOCAL_SERIAL (which also completes any half-done compare-and-set left by a crashed writer)
   * and the dedup window from the 'id' ring.
   */
  private async ownedPartition(key: PartitionKey): Promise<Owned> {
    const id = partitionId(key);
    const cached = this.owned.get(id);
    if (cached) return cached;
    const { client, cql, dedupWindow, pageSize } = this.options;
    const loaded = await this.guard(
      id,
      `loading the position of ${key.topic}[${key.partition}]`,
      async () => {
        const statics = await readStatics(client, cql, key, localSerial);
        const ids: Array<{ value: string; seq: number }> = [];
        if (statics.idsAdded > 0) {
          for await (const row of pagedRows(
            client,
            cql.kindRows,
            [key.topic, key.partition, 'id'],
            pageSize,
          )) {
            ids.push({ value: row.get('value') as string, seq: toNumber(row.get('seq')) });
          }
        }
        const window = windowFromIdRows(ids, statics.idsAdded, dedupWindow);
        // The ledger speaks Kafka offsets; the statics keep them stored (+ offset base).
        const nextOffset = statics.nextOffset - statics.offsetBase;
        return { statics, ledger: new PartitionLedger(dedupWindow, nextOffset, window) };
      },
    );
    this.owned.set(id, loaded);
    return loaded;
  }

  /** Current values of every row the plan changes, read by key right before the conditional write. */
  private async readTouched(plan: BatchPlan): Promise<TouchedRows> {
    const { client, cql } = this.options;
    const { topic, partition } = plan.partition;
    const counts = new Map<string, number>();
    const minutes = new Map<number, { minute: number; counts: MinuteCounts }>();
    const reads: Array<Promise<void>> = [];
    const keysByKind = new Map<CountKind, string[]>();
    for (const [kind, key] of plan.delta.entries()) {
      if (!isRowKind(kind)) continue;
      const keys = keysByKind.get(kind);
      if (keys) keys.push(key);
      else keysByKind.set(kind, [key]);
    }
    for (const [kind, kindKeys] of keysByKind) {
      for (const keys of chunks(kindKeys, IN_CHUNK)) {
        const asked = new Map(keys.map((key) => [storedText(key), key]));
        reads.push(
          client
            .execute(cql.keyRows, [topic, partition, kind, keys], { prepare: true, isIdempotent: true })
            .then((rs) => {
              for (const row of rs.rows) {
                const stored = row.get('key') as string;
                counts.set(rowKey(kind, asked.get(stored) ?? stored), toNumber(row.get('events')));
              }
            }),
        );
      }
    }
    const bySlot = new Map<string, number[]>();
    for (const minute of plan.delta.byMinute.keys()) {
      const slot = minuteSlotKey(minute);
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), minute]);
    }
    if (bySlot.size > 0) {
      reads.push(
        client
          .execute(cql.keyRows, [topic, partition, 'minute', [...bySlot.keys()]], {
            prepare: true,
            isIdempotent: true,
          })
          .then((rs) => {
            for (const row of rs.rows) {
              const held = {
                minute: toNumber(row.get('seq')),
                counts: decodeMinute(row.get('value') as string),
              };
              for (const minute of bySlot.get(row.get('key') as string) ?? []) minutes.set(minute, held);
            }
          }),
      );
    }
    await Promise.all(reads);
    return { counts, minutes };
  }

  /**
   * Runs a Cassandra step of a partition's write path: a store error passes as is; a driver error
   * becomes STORE_UNAVAILABLE and drops the cached position, since the outcome is unknown.
   */
  private async guard<T>(id: string, doing: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof WikistreamError) throw err;
      this.owned.delete(id);
      throw toStoreError(err, doing);
    }
  }

  /** One operation at a time per partition: a load never races the write that follows it. */
  private exclusive<T>(id: string, run: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const result = previous.then(run, run);
    const settled = result.catch(() => {});
    this.locks.set(id, settled);
    void settled.then(() => {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    });
    return result;
  }
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
