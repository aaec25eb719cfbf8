import { WikistreamError } from '../../errors.js';
import type { BatchPlan } from '../../stats/batch-plan.js';
import { COUNT_KINDS, type CountKind, combine } from '../../stats/counts.js';
import { FUTURE_SLACK_MS, MINUTE_MS, MinuteCounts } from '../../stats/minute-buckets.js';
import { StatsDelta } from '../../stats/stats-delta.js';
import { encodeDelta, encodeMinute } from './delta-codec.js';
import {
  changeSlotKey,
  idSlotKey,
  isRowKind,
  minuteSlotKey,
  type PartitionStatics,
} from './partition-rows.js';
import type { Statements } from './statements.js';

/**
 * One conditional batch is one Cassandra mutation, whatever its size: single-partition batches
 * are exempt from batch_size_fail_threshold (CASSANDRA-10876). The real limits are the protocol's
 * 65,535 statements and max_mutation_size (default 16 MiB, half a commitlog segment); stay well
 * inside both. A Kafka fetch of at most 1 MiB a partition (kafkajs' default, compressed) is a few
 * thousand events; each distinct user touches about six rows (user, domain_user, type_user, bytes,
 * first and last seen), each distinct wiki about seven, each event one 'id' row. Measured on the
 * recorded events: 3,000 events, 7,725 statements, ~1 MiB (db/README.md, "Rows", "Batch size").
 */
export const MAX_BATCH_STATEMENTS = 30_000;
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/**
 * Records per `apply` at most, so a dense fetch (thousands of events of distinct users, easily a
 * gzip-compressed 1 MiB fetch) never meets the caps above: the consumer plans and applies a
 * larger fetch in consecutive chunks, each its own conditional batch (see BatchProcessor). A
 * record writes at most 15 statements (13 count rows: domain, user, type, domain_user,
 * domain_type, type_user, domain_bot, user_bot, added or removed by wiki and by user,
 * domain_last, user_first, user_last; one 'id' row; its minute), so 1,000 records stay under
 * 15,001 statements, half of MAX_BATCH_STATEMENTS, whatever the events. Bytes depend on key
 * lengths; a chunk still over MAX_BATCH_BYTES is halved by the consumer.
 */
export const MAX_RECORDS_PER_APPLY = 1_000;
/** Past this, a changed DEDUP_WINDOW is not re-laid out in one batch (see `buildApplyBatch`). */
export const MAX_WINDOW_REWRITE = 20_000;

/** Current values of the rows a plan touches, as read just before the conditional write. */
export interface TouchedRows {
  /** Current value by `rowKey(kind, key)`; absent means no row yet (the delta's value is written). */
  readonly counts: ReadonlyMap<string, number>;
  /** What each touched minute's slot holds: the minute it is for and its counts. */
  readonly minutes: ReadonlyMap<number, { readonly minute: number; readonly counts: MinuteCounts }>;
}

export interface ApplyBatch {
  readonly queries: Array<{ query: string; params: unknown[] }>;
  /** The statics once the batch is applied. */
  readonly statics: PartitionStatics;
  /** Number of this batch in the partition (its change row's seq). */
  readonly batch: number;
}

export function rowKey(kind: CountKind, key: string): string {
  return `${kind}\u0000${key}`;
}

/**
 * The conditional batch that applies `plan` to a partition whose statics are `statics`
 * (`statics.nextOffset === plan.fromOffset`, decided by the ledger beforehand). Pure, so what is
 * written is unit-tested without a server. Writes absolute values (current + delta), never
 * counter increments: replaying the batch can only fail its condition, never count twice.
 */
export function buildApplyBatch(input: {
  readonly cql: Statements;
  readonly topic: string;
  readonly partition: number;
  readonly statics: PartitionStatics;
  readonly plan: BatchPlan;
  readonly touched: TouchedRows;
  readonly dedupWindow: number;
  /** The dedup window after this plan, oldest first; read only when DEDUP_WINDOW changed. */
  readonly windowAfter: () => readonly string[];
  readonly nowMs: number;
}): ApplyBatch {
  const { cql, topic, partition, statics, plan, touched, dedupWindow } = input;
  const delta = plan.delta;
  // Everything written is in stored offsets (Kafka + base): they only grow, across re-bases too.
  const base = statics.offsetBase;
  const version = plan.nextOffset + base;
  const queries: Array<{ query: string; params: unknown[] }> = [];
  const next: PartitionStatics = {
    exists: true,
    nextOffset: version,
    offsetBase: base,
    batches: statics.batches + 1,
    idsAdded: statics.idsAdded + plan.newIds.length,
    ringSize: dedupWindow,
    total: statics.total + delta.total,
    rejected: statics.rejected + delta.rejected,
    bots: statics.bots + delta.bots,
    humans: statics.humans + delta.humans,
    lastEventMs: Math.max(statics.lastEventMs, delta.lastEventMs),
  };

  queries.push({
    query: cql.cas,
    params: [
      next.nextOffset,
      next.batches,
      next.idsAdded,
      next.ringSize,
      next.total,
      next.rejected,
      next.bots,
      next.humans,
      next.lastEventMs,
      topic,
      partition,
      // A partition never written has no next_offset: the condition is then `= null`.
      statics.exists ? plan.fromOffset + base : null,
    ],
  });

  // Every all-time kind the same way: the new absolute value by the kind's rule (sum, or min/max
  // for first/last seen), so a kind added to the model needs no code here.
  for (const [kind, key, n] of delta.entries()) {
    if (!isRowKind(kind)) continue;
    const value = combine(COUNT_KINDS[kind], touched.counts.get(rowKey(kind, key)), n);
    queries.push({ query: cql.count, params: [value, version, topic, partition, kind, key] });
  }

  for (const [minute, counts] of delta.byMinute) {
    // Never persist a minute stamped in the future (a wrong clock) nor let a minute replace a
    // newer one sharing its slot: that one is >= MINUTE_RING minutes newer, so this one is out of
    // every window.
    if (minute * MINUTE_MS > input.nowMs + FUTURE_SLACK_MS) continue;
    const slot = touched.minutes.get(minute);
    if (slot !== undefined && slot.minute > minute) continue;
    const merged = new MinuteCounts();
    if (slot !== undefined && slot.minute === minute) merged.merge(slot.counts);
    merged.merge(counts);
    queries.push({
      query: cql.value,
      params: [encodeMinute(merged), minute, version, topic, partition, 'minute', minuteSlotKey(minute)],
    });
  }

  // The dedup window as a ring of DEDUP_WINDOW slots, id n in slot n mod DEDUP_WINDOW: written in
  // place, never deleted. When DEDUP_WINDOW changed since the ring was written, lay the whole
  // window out again so the ring stays exact; for a huge window only the new ids are written and
  // the old layout's leftovers age out (position() filters by number).
  const relayout =
    statics.ringSize !== undefined && statics.ringSize !== dedupWindow ? input.windowAfter() : undefined;
  if (relayout !== undefined && relayout.length <= MAX_WINDOW_REWRITE) {
    relayout.forEach((id, i) => {
      const seq = next.idsAdded - relayout.length + i;
      queries.push({
        query: cql.value,
        params: [id, seq, version, topic, partition, 'id', idSlotKey(seq, dedupWindow)],
      });
    });
  } else {
    const ids = plan.newIds;
    // Within one batch a slot written twice would be decided by value, not order: write each once.
    for (let j = Math.max(0, ids.length - dedupWindow); j < ids.length; j++) {
      const seq = statics.idsAdded + j;
      queries.push({
        query: cql.value,
        params: [ids[j], seq, version, topic, partition, 'id', idSlotKey(seq, dedupWindow)],
      });
    }
  }

  queries.push({
    query: cql.change,
    params: [
      encodeDelta(delta),
      statics.batches,
      plan.fromOffset + base,
      version,
      topic,
      partition,
      changeSlotKey(statics.batches),
    ],
  });

  assertFits(queries, plan);
  return { queries, statics: next, batch: statics.batches };
}

/**
 * The conditional batch that re-bases a partition whose Kafka log was replaced: the Kafka
 * position moves from `fromOffset` to `toOffset`, counts and dedup window stay. The stored
 * position moves one step *forward* instead (`offset_base` absorbs the jump back), because the
 * `/stats` view follows the change feed as a chain of stored offsets and tells by a row's
 * `version` which changes a loaded row already holds: both need stored offsets that never go
 * back. One step, not zero, so every state of the partition has its own stored next_offset and
 * `IF next_offset = ?` stays an exact compare-and-set: a plan made against the old log (a zombie,
 * a retry) fails its condition instead of landing on the new one. The empty change row keeps the
 * feed a chain (seq and offsets), so a reader follows the re-base like any batch.
 */
export function buildRebaseBatch(input: {
  readonly cql: Statements;
  readonly topic: string;
  readonly partition: number;
  readonly statics: PartitionStatics;
  readonly fromOffset: number;
  readonly toOffset: number;
}): ApplyBatch {
  const { cql, topic, partition, statics, fromOffset, toOffset } = input;
  const storedFrom = fromOffset + statics.offsetBase;
  const next: PartitionStatics = {
    ...statics,
    exists: true,
    nextOffset: storedFrom + 1,
    offsetBase: storedFrom + 1 - toOffset,
    batches: statics.batches + 1,
  };
  const queries = [
    {
      query: cql.rebase,
      params: [
        next.nextOffset,
        next.offsetBase,
        next.batches,
        topic,
        partition,
        statics.exists ? storedFrom : null,
      ],
    },
    {
      query: cql.change,
      params: [
        encodeDelta(new StatsDelta()),
        statics.batches,
        storedFrom,
        next.nextOffset,
        topic,
        partition,
        changeSlotKey(statics.batches),
      ],
    },
  ];
  return { queries, statics: next, batch: statics.batches };
}

function assertFits(queries: ReadonlyArray<{ params: unknown[] }>, plan: BatchPlan): void {
  let bytes = 0;
  for (const q of queries) {
    for (const p of q.params) bytes += typeof p === 'string' ? p.length * 3 : 8;
  }
  if (queries.length > MAX_BATCH_STATEMENTS || bytes > MAX_BATCH_BYTES) {
    throw new WikistreamError(
      'STORE_PLAN_TOO_LARGE',
      `batch for ${plan.partition.topic}[${plan.partition.partition}] offsets ${plan.fromOffset}..${plan.nextOffset} ` +
        `needs ${queries.length} statements (~${Math.round(bytes / 1024)} KiB) in one atomic write; ` +
        `the limit is ${MAX_BATCH_STATEMENTS} statements / ${MAX_BATCH_BYTES / 1024} KiB: plan smaller batches`,
    );
  }
}
