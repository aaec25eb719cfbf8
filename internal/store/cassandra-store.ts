import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'cassandra-driver';
import { WikistreamError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { BatchPlan, PartitionKey, PartitionPosition } from '../stats/batch-plan.js';
import type {
  DomainView,
  DrillQuery,
  PagesQuery,
  PagesView,
  StatsView,
  StatsWindowView,
  UserView,
} from '../stats/stats-aggregate.js';
import { Backoff } from '../wikimedia/backoff.js';
import { MAX_RECORDS_PER_APPLY } from './cassandra/apply-batch.js';
import { toStoreError } from './cassandra/driver-errors.js';
import type { FollowedView } from './cassandra/followed-view.js';
import { PartitionWriter } from './cassandra/partition-writer.js';
import { ensureSchema, findMigrationsDir } from './cassandra/schema.js';
import { type Statements, statements } from './cassandra/statements.js';
import { ViewFollower } from './cassandra/view-follower.js';
import type { ApplyResult, StatsStore } from './stats-store.js';

export interface CassandraStoreOptions {
  readonly keyspace: string;
  /** The Kafka topic whose partitions `/stats` sums (the consumer's topic). */
  readonly topic: string;
  /**
   * The dead-letter topic the consumer also counts (KAFKA_DLQ_TOPIC): its partitions add only
   * `rejected` to `/stats`.
   */
  readonly deadLetterTopic?: string;
  /** Records per `apply` at most (see `maxRecordsPerApply`); default MAX_RECORDS_PER_APPLY. */
  readonly maxRecordsPerApply?: number;
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

/**
 * The stats store on Cassandra (design: db/README.md). Each Kafka partition's stats, position and
 * dedup window live in one Cassandra partition. Two parts do the work: the write path
 * (`PartitionWriter`: positions, one conditional batch per plan) and the read side
 * (`ViewFollower`: `/stats` from an in-process view of the whole topic, where this instance's
 * writes show at once and other instances' within `refreshIntervalMs`, default 2 s). This class
 * is their lifecycle: connect and schema at start, readiness, ping, close.
 *
 * Until `start()` has connected, checked the schema and loaded the view, every call but
 * `close()` fails with a retriable STORE_UNAVAILABLE and `ping()` rejects (`/readyz` false).
 */
export class CassandraStatsStore implements StatsStore {
  private readonly cql: Statements;
  private readonly log: Logger;
  private readonly writer: PartitionWriter;
  private readonly follower: ViewFollower;
  private readonly closing = new AbortController();
  private starting: Promise<void> | undefined;
  readonly maxRecordsPerApply: number;

  constructor(
    readonly client: Client,
    private readonly options: CassandraStoreOptions,
  ) {
    this.cql = statements(options.keyspace);
    this.log = options.log;
    const now = options.now ?? Date.now;
    this.maxRecordsPerApply = options.maxRecordsPerApply ?? MAX_RECORDS_PER_APPLY;
    this.follower = new ViewFollower({
      client,
      cql: this.cql,
      topic: options.topic,
      ...(options.deadLetterTopic === undefined ? {} : { deadLetterTopic: options.deadLetterTopic }),
      refreshIntervalMs: options.refreshIntervalMs ?? 2_000,
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      now,
      log: this.log,
    });
    this.writer = new PartitionWriter({
      client,
      cql: this.cql,
      dedupWindow: options.dedupWindow,
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      now,
      onApplied: (partition, change) => this.follower.applyOwn(partition, change),
    });
  }

  /** True once connected, schema checked and the view loaded. */
  get isReady(): boolean {
    return this.follower.view !== undefined && !this.closing.signal.aborted;
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
        const view = await this.follower.start();
        this.log.info(
          { attempt, schemaVersion: version, partitions: view.partitions, topic: this.options.topic },
          'Cassandra store ready',
        );
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
    return this.writer.position(partition);
  }

  async apply(plan: BatchPlan): Promise<ApplyResult> {
    this.assertReady();
    return this.writer.apply(plan);
  }

  /** One conditional batch: the offset base moves, counts and dedup window stay (db/README.md). */
  async rebase(partition: PartitionKey, fromOffset: number, toOffset: number): Promise<void> {
    this.assertReady();
    return this.writer.rebase(partition, fromOffset, toOffset);
  }

  release(partitions: readonly PartitionKey[]): void {
    this.writer.release(partitions);
  }

  async read(limit: number): Promise<StatsView> {
    return this.readyView().read(limit);
  }

  async readWindow(minutes: number, limit: number): Promise<StatsWindowView> {
    return this.readyView().readWindow(minutes, limit);
  }

  async readDomain(domain: string, query: DrillQuery): Promise<DomainView | undefined> {
    return this.readyView().readDomain(domain, query);
  }

  async readUser(user: string, query: DrillQuery): Promise<UserView | undefined> {
    return this.readyView().readUser(user, query);
  }

  async readPages(query: PagesQuery): Promise<PagesView> {
    return this.readyView().readPages(query);
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
    await this.follower.stop();
    await this.starting?.catch(() => {});
    await this.client.shutdown();
  }

  /**
   * Brings the `/stats` view up to date now (it also does on a timer): loads new partitions,
   * follows the others' change feeds. Rejects if Cassandra fails (the view stays as it was).
   */
  refresh(): Promise<void> {
    return this.follower.refresh();
  }

  /** Milliseconds since the view last caught up with Cassandra (0 right after a refresh). */
  get viewAgeMs(): number {
    return this.follower.viewAgeMs;
  }

  private readyView(): FollowedView {
    this.assertReady();
    return this.follower.view as FollowedView;
  }

  private assertReady(): void {
    this.assertNotClosed();
    if (this.follower.view === undefined) {
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
