import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, types } from 'cassandra-driver';
import { WikistreamError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { BatchPlan, PartitionKey, PartitionPosition } from '../stats/batch-plan.js';
import { DedupWindow } from '../stats/dedup-window.js';
import type { MinuteCounts } from '../stats/minute-buckets.js';
import type { StatsView, StatsWindowView } from '../stats/stats-aggregate.js';
import { Backoff } from '../wikimedia/backoff.js';
import { buildApplyBatch, rowKey, type TouchedRows } from './cassandra/apply-batch.js';
import { decodeDelta, decodeMinute } from './cassandra/delta-codec.js';
import { toStoreError } from './cassandra/driver-errors.js';
import { type Change, FollowedView, type LoadedRow } from './cassandra/followed-view.js';
import {
  CHANGE_RING,
  COUNT_KINDS,
  changeSlotRanges,
  minuteSlotKey,
  type PartitionStatics,
  staticsFromRow,
  toNumber,
  windowFromIdRows,
} from './cassandra/partition-rows.js';
import { ensureSchema, findMigrationsDir } from './cassandra/schema.js';
import { type Statements, statements } from './cassandra/statements.js';
import { PartitionLedger } from './partition-ledger.js';
import { type ApplyResult, partitionId, type StatsStore } from './stats-store.js';

const { localQuorum, localSerial } = types.consistencies;

/** Keys per `IN` read: bounded so one read stays a modest single-partition slice. */
const IN_CHUNK = 500;

export interface CassandraStoreOptions {
  readonly keyspace: string;
  /** The Kafka topic whose partitions `/stats` sums (the consumer's topic). */
  readonly topic: string;
  readonly dedupWindow: number;
  /** Apply db/migrations at start-up (CASSANDRA_APPLY_SCHEMA). */
  readonly applySchema: boolean;
  readonly migrationsDir?: string;
  /** How often the `/stats` view follows other instances' partitions; bounds its staleness. */
  readonly refreshIntervalMs?: number;
  /** Start-up retry backoff while Cassandra is unreachable. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Rows per page when loading (default 5,000). */
  readonly pageSize?: number;
  readonly now?: () => number;
  readonly log: Logger;
}

/** A partition this instance writes: its position (ledger) and the statics it was read with. */
interface Owned {
  statics: PartitionStatics;
  readonly ledger: PartitionLedger;
}

/**
 * The stats store on Cassandra (design: db/README.md). Each Kafka partition's stats, position and
 * dedup window live in one Cassandra partition; `apply()` is ONE conditional batch
 * (`IF next_offset = plan.fromOffset`) writing absolute values, so it is atomic, and a replay
 * (redelivery, a retry after a lost acknowledgement, a zombie after a rebalance) fails its
 * condition and is decided by the shared PartitionLedger rules instead of counting twice.
 *
 * `/stats` reads an in-process view of the whole topic: this instance's writes show at once,
 * other instances' within `refreshIntervalMs` (default 2 s) through the change feed.
 *
 * Until `start()` has connected, checked the schema and loaded the view, every call but
 * `close()` fails with a retriable STORE_UNAVAILABLE and `ping()` rejects (`/readyz` false).
 */
export class CassandraStatsStore implements StatsStore {
  private readonly cql: Statements;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly owned = new Map<string, Owned>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly closing = new AbortController();
  private view: FollowedView | undefined;
  private starting: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshFailures = 0;
  private lastRefreshAt = 0;

  constructor(
    readonly client: Client,
    private readonly options: CassandraStoreOptions,
  ) {
    this.cql = statements(options.keyspace);
    this.log = options.log;
    this.now = options.now ?? Date.now;
  }

  /** True once connected, schema checked and the view loaded. */
  get isReady(): boolean {
    return this.view !== undefined && !this.closing.signal.aborted;
  }

  /**
   * Connects, checks (or applies) the schema and loads the view, retrying with backoff while
   * Cassandra is unreachable (one log line per attempt, with the next delay). Rejects only on
   * what retrying cannot fix (schema outdated, bad credentials, a bad statement) or on close().
   */
  start(): Promise<void> {
    this.starting ??= this.startLoop();
    return this.starting;
  }

  private async startLoop(): Promise<void> {
    const backoff = new Backoff(this.options.retryMinMs ?? 1_000, this.options.retryMaxMs ?? 30_000);
    for (let attempt = 1; ; attempt++) {
      this.assertNotClosed();
      try {
        await this.client.connect();
        const version = await ensureSchema(this.client, {
          keyspace: this.options.keyspace,
          apply: this.options.applySchema,
          migrationsDir: this.options.migrationsDir ?? findMigrationsDir(),
          log: this.log,
        });
        const view = new FollowedView({ now: this.now });
        await this.loadAll(view);
        this.view = view;
        this.lastRefreshAt = this.now();
        this.log.info(
          { attempt, schemaVersion: version, partitions: view.partitions, topic: this.options.topic },
          'Cassandra store ready',
        );
        this.scheduleRefresh();
        return;
      } catch (err) {
        const error = toStoreError(err, 'starting the Cassandra store');
        if (this.closing.signal.aborted) throw error;
        if (!error.retriable) {
          this.log.error({ err: error, attempt }, 'Cassandra store cannot start; not retrying');
          throw error;
        }
        const retryInMs = backoff.next();
        this.log.error(
          { err: error, attempt, retryInMs },
          'Cassandra unreachable at start-up; not ready, retrying',
        );
        await sleep(retryInMs, undefined, { signal: this.closing.signal }).catch(() => {});
      }
    }
  }

  async position(partition: PartitionKey): Promise<PartitionPosition> {
    this.assertReady();
    return this.exclusive(partitionId(partition), async () => (await this.ownedPartition(partition)).ledger);
  }

  async apply(plan: BatchPlan): Promise<ApplyResult> {
    this.assertReady();
    const id = partitionId(plan.partition);
    return this.exclusive(id, async () => {
      const owned = await this.ownedPartition(plan.partition);
      if (owned.ledger.decide(plan) === 'already-applied') return 'already-applied';
      if (plan.nextOffset === plan.fromOffset) return 'applied';
      const { topic, partition } = plan.partition;
      const batch = await this.guard(id, `reading rows for ${topic}[${partition}]`, async () => {
        if (!owned.statics.exists) {
          await this.client.execute(this.cql.registerPartition, [topic, partition], {
            prepare: true,
            isIdempotent: true,
          });
        }
        return buildApplyBatch({
          cql: this.cql,
          topic,
          partition,
          statics: owned.statics,
          plan,
          touched: await this.readTouched(plan),
          dedupWindow: this.options.dedupWindow,
          windowAfter: () => {
            const window = new DedupWindow(this.options.dedupWindow, owned.ledger.recentIds());
            for (const newId of plan.newIds) window.add(newId);
            return window.toArray();
          },
          nowMs: this.now(),
        });
      });
      const result = await this.guard(
        id,
        `writing offsets ${plan.fromOffset}..${plan.nextOffset} of ${topic}[${partition}]`,
        () =>
          this.client.batch(batch.queries, {
            prepare: true,
            // Not idempotent for the driver: a blind resend could only fail its condition, and
            // the caller's retry re-reads the position anyway, which decides it properly.
            isIdempotent: false,
            consistency: localQuorum,
            serialConsistency: localSerial,
          }),
      );
      if (result.wasApplied()) {
        owned.statics = batch.statics;
        owned.ledger.advance(plan);
        const change: Change = {
          seq: batch.batch,
          fromOffset: plan.fromOffset,
          toOffset: plan.nextOffset,
          delta: plan.delta,
        };
        // Visible in this instance's /stats at once; if the view is behind, its refresh catches up.
        if (topic === this.options.topic) this.view?.apply(id, change);
        return 'applied';
      }
      // The condition failed: the partition moved on without us (our earlier attempt whose
      // acknowledgement was lost, or another instance after a rebalance). Re-read next time.
      this.owned.delete(id);
      const current = toNumber(result.rows[0]?.get('next_offset'));
      if (new PartitionLedger(1, current).decide(plan) === 'already-applied') return 'already-applied';
      throw new WikistreamError(
        'STORE_CONFLICT',
        `compare-and-set on ${topic}[${partition}] at offset ${plan.fromOffset} failed; re-read the position`,
        { retriable: true },
      );
    });
  }

  /**
   * Not supported yet, and refused loudly rather than done wrong: the `/stats` view follows each
   * partition's change feed as a chain of offsets, and tells which changes a loaded row already
   * holds by an offset-valued `version`; both assume a partition's offsets never go back. A
   * re-base needs a version that survives it (e.g. an offset base kept in the statics). Until
   * then the consumer keeps the replaced partition stopped and says so at error level.
   */
  async rebase(partition: PartitionKey, fromOffset: number, toOffset: number): Promise<void> {
    throw new WikistreamError(
      'STORE_REBASE_UNSUPPORTED',
      `the log of ${partition.topic}[${partition.partition}] was replaced (store at offset ${fromOffset}, ` +
        `new log from ${toOffset}); the Cassandra store cannot re-base a partition yet: delete its rows ` +
        '(partition_state) and restart the consumer to count the new log',
    );
  }

  release(partitions: readonly PartitionKey[]): void {
    for (const partition of partitions) this.owned.delete(partitionId(partition));
  }

  async read(limit: number): Promise<StatsView> {
    return this.readyView().read(limit);
  }

  async readWindow(minutes: number, limit: number): Promise<StatsWindowView> {
    return this.readyView().readWindow(minutes, limit);
  }

  async ping(): Promise<void> {
    this.assertReady();
    try {
      await this.client.execute(this.cql.ping, [], { prepare: true, isIdempotent: true, readTimeout: 2_000 });
    } catch (err) {
      throw toStoreError(err, 'pinging Cassandra');
    }
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    await this.refreshing?.catch(() => {});
    await this.starting?.catch(() => {});
    await this.client.shutdown();
  }

  /**
   * Brings the `/stats` view up to date with every partition of the topic: loads new ones,
   * follows the change feed of the others; reloads everything if the feed was overrun. Runs on a
   * timer; concurrent calls share one run. Rejects if Cassandra fails (the view stays as it was).
   */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshNow().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Milliseconds since the view last caught up with Cassandra (0 right after a refresh). */
  get viewAgeMs(): number {
    return this.view === undefined ? Number.POSITIVE_INFINITY : this.now() - this.lastRefreshAt;
  }

  private async refreshNow(): Promise<void> {
    const view = this.view;
    if (view === undefined) return;
    let gap = false;
    for (const partition of await this.listPartitions()) {
      const id = partitionId({ topic: this.options.topic, partition });
      if (!view.has(id)) await this.loadPartition(view, partition);
      if ((await this.follow(view, partition)) === 'gap') {
        gap = true;
        break;
      }
    }
    if (gap) {
      this.log.warn('change feed overrun or inconsistent; reloading the /stats view from Cassandra');
      const fresh = new FollowedView({ now: this.now });
      await this.loadAll(fresh);
      this.view = fresh;
    }
    this.lastRefreshAt = this.now();
  }

  private scheduleRefresh(): void {
    if (this.closing.signal.aborted) return;
    this.refreshTimer = setTimeout(() => {
      this.refresh()
        .then(() => {
          if (this.refreshFailures > 0) {
            this.log.info({ failures: this.refreshFailures }, '/stats view refresh recovered');
          }
          this.refreshFailures = 0;
        })
        .catch((err: unknown) => {
          this.refreshFailures++;
          // One line when it starts failing, then one a minute or so: an outage is logged, not spammed.
          if (this.refreshFailures === 1 || this.refreshFailures % 30 === 0) {
            this.log.warn(
              {
                err: toStoreError(err, 'refreshing the /stats view'),
                failures: this.refreshFailures,
                staleMs: this.viewAgeMs,
              },
              '/stats view refresh failed; serving the last loaded view',
            );
          }
        })
        .finally(() => this.scheduleRefresh());
    }, this.options.refreshIntervalMs ?? 2_000);
    this.refreshTimer.unref();
  }

  private async loadAll(view: FollowedView): Promise<void> {
    for (const partition of await this.listPartitions()) {
      await this.loadPartition(view, partition);
      if ((await this.follow(view, partition)) === 'gap') {
        throw new WikistreamError(
          'STORE_UNAVAILABLE',
          `change feed of ${this.options.topic}[${partition}] moved too fast to load; retrying`,
          { retriable: true },
        );
      }
    }
  }

  private async listPartitions(): Promise<number[]> {
    const rs = await this.client.execute(this.cql.listPartitions, [this.options.topic], {
      prepare: true,
      isIdempotent: true,
    });
    return rs.rows.map((row) => row.get('kafka_partition') as number).sort((a, b) => a - b);
  }

  /** Statics first, then rows: rows written meanwhile carry a version past the statics (see FollowedView). */
  private async loadPartition(view: FollowedView, partition: number): Promise<void> {
    const { topic } = this.options;
    const statics = await this.readStatics(partition, localQuorum);
    const rows: LoadedRow[] = [];
    for (const kind of COUNT_KINDS) {
      for await (const row of this.pages(this.cql.kindRows, [topic, partition, kind])) {
        rows.push({
          kind,
          key: row.get('key') as string,
          count: toNumber(row.get('events')),
          version: toNumber(row.get('version')),
        });
      }
    }
    for await (const row of this.pages(this.cql.kindRows, [topic, partition, 'minute'])) {
      rows.push({
        kind: 'minute',
        minute: toNumber(row.get('seq')),
        counts: decodeMinute(row.get('value') as string),
        version: toNumber(row.get('version')),
      });
    }
    view.load(partitionId({ topic, partition }), statics, rows);
  }

  /** Applies the batches written since the view last looked, in order. */
  private async follow(view: FollowedView, partition: number): Promise<'ok' | 'gap'> {
    const { topic } = this.options;
    const id = partitionId({ topic, partition });
    const cursor = view.cursor(id);
    if (cursor === undefined) return 'ok';
    const statics = await this.readStatics(partition, localQuorum);
    if (statics.batches <= cursor.seq) return 'ok';
    if (statics.batches - cursor.seq > CHANGE_RING) return 'gap';
    const changes: Change[] = [];
    for (const [first, last] of changeSlotRanges(cursor.seq, statics.batches)) {
      for await (const row of this.pages(this.cql.changeRows, [topic, partition, first, last])) {
        const seq = toNumber(row.get('seq'));
        if (seq < cursor.seq) continue; // the ring's previous lap, or already applied
        changes.push({
          seq,
          fromOffset: toNumber(row.get('from_offset')),
          toOffset: toNumber(row.get('version')),
          delta: decodeDelta(row.get('value') as string),
        });
      }
    }
    changes.sort((a, b) => a.seq - b.seq);
    for (const change of changes) {
      if (view.apply(id, change) === 'gap') return 'gap';
    }
    return 'ok';
  }

  private async readStatics(partition: number, consistency: number): Promise<PartitionStatics> {
    const rs = await this.client.execute(this.cql.statics, [this.options.topic, partition], {
      prepare: true,
      isIdempotent: true,
      consistency,
    });
    return staticsFromRow(rs.rows[0]);
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
    const loaded = await this.guard(
      id,
      `loading the position of ${key.topic}[${key.partition}]`,
      async () => {
        const rs = await this.client.execute(this.cql.statics, [key.topic, key.partition], {
          prepare: true,
          isIdempotent: true,
          consistency: localSerial,
        });
        const statics = staticsFromRow(rs.rows[0]);
        const ids: Array<{ value: string; seq: number }> = [];
        if (statics.idsAdded > 0) {
          for await (const row of this.pages(this.cql.kindRows, [key.topic, key.partition, 'id'])) {
            ids.push({ value: row.get('value') as string, seq: toNumber(row.get('seq')) });
          }
        }
        const window = windowFromIdRows(ids, statics.idsAdded, this.options.dedupWindow);
        return { statics, ledger: new PartitionLedger(this.options.dedupWindow, statics.nextOffset, window) };
      },
    );
    this.owned.set(id, loaded);
    return loaded;
  }

  /** Current values of every row the plan changes, read by key right before the conditional write. */
  private async readTouched(plan: BatchPlan): Promise<TouchedRows> {
    const { topic, partition } = plan.partition;
    const counts = new Map<string, number>();
    const minutes = new Map<number, { minute: number; counts: MinuteCounts }>();
    const reads: Array<Promise<void>> = [];
    const maps = { domain: plan.delta.byDomain, user: plan.delta.byUser, type: plan.delta.byType };
    for (const kind of COUNT_KINDS) {
      for (const keys of chunks([...maps[kind].keys()], IN_CHUNK)) {
        reads.push(
          this.client
            .execute(this.cql.keyRows, [topic, partition, kind, keys], { prepare: true, isIdempotent: true })
            .then((rs) => {
              for (const row of rs.rows)
                counts.set(rowKey(kind, row.get('key') as string), toNumber(row.get('events')));
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
        this.client
          .execute(this.cql.keyRows, [topic, partition, 'minute', [...bySlot.keys()]], {
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

  private async *pages(query: string, params: unknown[]): AsyncGenerator<types.Row> {
    let pageState: string | undefined;
    do {
      const rs: types.ResultSet = await this.client.execute(query, params, {
        prepare: true,
        isIdempotent: true,
        fetchSize: this.options.pageSize ?? 5_000,
        ...(pageState === undefined ? {} : { pageState }),
      });
      yield* rs.rows;
      pageState = rs.pageState ?? undefined;
    } while (pageState !== undefined);
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

  private readyView(): FollowedView {
    this.assertReady();
    return this.view as FollowedView;
  }

  private assertReady(): void {
    this.assertNotClosed();
    if (this.view === undefined) {
      throw new WikistreamError(
        'STORE_UNAVAILABLE',
        'Cassandra store not ready yet (connecting, checking the schema or loading stats)',
        { retriable: true },
      );
    }
  }

  private assertNotClosed(): void {
    if (this.closing.signal.aborted) {
      throw new WikistreamError('STORE_UNAVAILABLE', 'Cassandra store is closed', { retriable: false });
    }
  }
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
