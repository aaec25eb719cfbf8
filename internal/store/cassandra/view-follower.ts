import { type Client, types } from 'cassandra-driver';
import { WikistreamError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { PartitionKey } from '../../stats/batch-plan.js';
import { StatsDelta } from '../../stats/stats-delta.js';
import { partitionId } from '../stats-store.js';
import { decodeDelta, decodeMinute } from './delta-codec.js';
import { toStoreError } from './driver-errors.js';
import { type Change, FollowedView, PartitionLoad } from './followed-view.js';
import { pagedRows, readStatics } from './paged-rows.js';
import {
  CHANGE_RING,
  changeSlotRanges,
  type PartitionStatics,
  ROW_KINDS,
  toNumber,
} from './partition-rows.js';
import type { Statements } from './statements.js';

const { localQuorum } = types.consistencies;

export interface ViewFollowerOptions {
  readonly client: Client;
  readonly cql: Statements;
  /** The Kafka topic whose partitions the view sums. */
  readonly topic: string;
  /** The dead-letter topic the consumer counts too: its partitions add only `rejected`. */
  readonly deadLetterTopic?: string;
  /** How often the view follows other instances' partitions; bounds its staleness. */
  readonly refreshIntervalMs: number;
  readonly pageSize?: number;
  readonly now: () => number;
  readonly log: Logger;
}

/**
 * Keeps a `FollowedView` of the whole topic up to date from Cassandra: loads every partition
 * once, then, on a timer, loads partitions that appeared and follows the others' change feeds;
 * a feed overrun (the view more than CHANGE_RING batches behind) reloads everything into a fresh
 * view that replaces the old one only once complete, so `/stats` never sees a half-loaded view.
 * The I/O around the pure FollowedView; the write path feeds it this instance's own batches.
 */
export class ViewFollower {
  private current: FollowedView | undefined;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private lastRefreshAt = 0;

  constructor(private readonly options: ViewFollowerOptions) {}

  /** The loaded view; undefined until `load()` succeeded. */
  get view(): FollowedView | undefined {
    return this.current;
  }

  /** Milliseconds since the view last caught up with Cassandra (0 right after a refresh). */
  get viewAgeMs(): number {
    return this.current === undefined ? Number.POSITIVE_INFINITY : this.options.now() - this.lastRefreshAt;
  }

  /** Loads the whole topic into a new view, then refreshes it every `refreshIntervalMs`. */
  async start(): Promise<FollowedView> {
    const view = new FollowedView({ now: this.options.now });
    await this.loadAll(view);
    this.current = view;
    this.lastRefreshAt = this.options.now();
    this.scheduleRefresh();
    return view;
  }

  /** A batch this instance wrote: shown at once; if the view is behind, its refresh catches up. */
  applyOwn(partition: PartitionKey, change: Change): void {
    const rejectedOnly = this.rejectedOnly(partition.topic);
    if (rejectedOnly === undefined) return;
    this.current?.apply(partitionId(partition), rejectedOnly ? rejectedOnlyChange(change) : change);
  }

  /**
   * Brings the view up to date with every partition of the topic. Concurrent calls share one
   * run. Rejects if Cassandra fails (the view stays as it was).
   */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshNow().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Stops the timer and waits for a refresh under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.refreshing?.catch(() => {});
  }

  private async refreshNow(): Promise<void> {
    const view = this.current;
    if (view === undefined) return;
    let gap = false;
    for (const partition of await this.listPartitions()) {
      if (!view.has(partitionId(partition))) await this.loadPartition(view, partition);
      if ((await this.follow(view, partition)) === 'gap') {
        gap = true;
        break;
      }
    }
    if (gap) {
      this.options.log.warn('change feed overrun or inconsistent; reloading the /stats view from Cassandra');
      const fresh = new FollowedView({ now: this.options.now });
      await this.loadAll(fresh);
      this.current = fresh;
    }
    this.lastRefreshAt = this.options.now();
  }

  private scheduleRefresh(): void {
    if (this.stopped) return;
    const { log } = this.options;
    this.timer = setTimeout(() => {
      this.refresh()
        .then(() => {
          if (this.failures > 0) log.info({ failures: this.failures }, '/stats view refresh recovered');
          this.failures = 0;
        })
        .catch((err: unknown) => {
          this.failures++;
          // One line when it starts failing, then one a minute or so: an outage is logged, not spammed.
          if (this.failures === 1 || this.failures % 30 === 0) {
            log.warn(
              {
                err: toStoreError(err, 'refreshing the /stats view'),
                failures: this.failures,
                staleMs: this.viewAgeMs,
              },
              '/stats view refresh failed; serving the last loaded view',
            );
          }
        })
        .finally(() => this.scheduleRefresh());
    }, this.options.refreshIntervalMs);
    this.timer.unref();
  }

  private async loadAll(view: FollowedView): Promise<void> {
    for (const partition of await this.listPartitions()) {
      await this.loadPartition(view, partition);
      if ((await this.follow(view, partition)) === 'gap') {
        throw new WikistreamError(
          'STORE_UNAVAILABLE',
          `change feed of ${partition.topic}[${partition.partition}] moved too fast to load; retrying`,
          { retriable: true },
        );
      }
    }
  }

  /** The partitions of the events topic, then those of the dead-letter topic. */
  private async listPartitions(): Promise<PartitionKey[]> {
    const { topic, deadLetterTopic } = this.options;
    const out: PartitionKey[] = [];
    for (const t of deadLetterTopic === undefined ? [topic] : [topic, deadLetterTopic]) {
      const rs = await this.options.client.execute(this.options.cql.listPartitions, [t], {
        prepare: true,
        isIdempotent: true,
      });
      const partitions = rs.rows.map((row) => row.get('kafka_partition') as number).sort((a, b) => a - b);
      for (const partition of partitions) out.push({ topic: t, partition });
    }
    return out;
  }

  /**
   * Whether a topic's partitions add only `rejected` (the dead-letter topic): false for the
   * events topic, undefined for a topic the view does not sum.
   */
  private rejectedOnly(topic: string): boolean | undefined {
    if (topic === this.options.topic) return false;
    return topic === this.options.deadLetterTopic ? true : undefined;
  }

  /**
   * Statics first, then rows: rows written meanwhile carry a version past the statics (see
   * FollowedView). Rows are folded as pages arrive (PartitionLoad), so a load holds one page and
   * the window's buckets, not every minute row of the 24 hours.
   */
  private async loadPartition(view: FollowedView, key: PartitionKey): Promise<void> {
    const { cql } = this.options;
    const { topic, partition } = key;
    const statics = await this.readStatics(key);
    if (this.rejectedOnly(topic)) {
      // Dead letters count only as `rejected`, a static column: no rows to read.
      view.add(partitionId(key), new PartitionLoad(rejectedOnlyStatics(statics), this.options.now));
      return;
    }
    const loading = new PartitionLoad(statics, this.options.now);
    for (const kind of ROW_KINDS) {
      for await (const row of this.pages(cql.kindRows, [topic, partition, kind])) {
        loading.add({
          kind,
          key: row.get('key') as string,
          count: toNumber(row.get('events')),
          version: toNumber(row.get('version')),
        });
      }
    }
    for await (const row of this.pages(cql.kindRows, [topic, partition, 'minute'])) {
      loading.add({
        kind: 'minute',
        minute: toNumber(row.get('seq')),
        counts: decodeMinute(row.get('value') as string),
        version: toNumber(row.get('version')),
      });
    }
    view.add(partitionId({ topic, partition }), loading);
  }

  /** Applies the batches written since the view last looked, in order. */
  private async follow(view: FollowedView, key: PartitionKey): Promise<'ok' | 'gap'> {
    const { cql } = this.options;
    const { topic, partition } = key;
    const id = partitionId(key);
    const cursor = view.cursor(id);
    if (cursor === undefined) return 'ok';
    const statics = await this.readStatics(key);
    if (statics.batches <= cursor.seq) return 'ok';
    if (statics.batches - cursor.seq > CHANGE_RING) return 'gap';
    const changes: Change[] = [];
    for (const [first, last] of changeSlotRanges(cursor.seq, statics.batches)) {
      for await (const row of this.pages(cql.changeRows, [topic, partition, first, last])) {
        const seq = toNumber(row.get('seq'));
        if (seq < cursor.seq) continue; // the ring's previous lap, or already applied
        const change = {
          seq,
          fromOffset: toNumber(row.get('from_offset')),
          toOffset: toNumber(row.get('version')),
          delta: decodeDelta(row.get('value') as string),
        };
        changes.push(this.rejectedOnly(topic) ? rejectedOnlyChange(change) : change);
      }
    }
    changes.sort((a, b) => a.seq - b.seq);
    for (const change of changes) {
      if (view.apply(id, change) === 'gap') return 'gap';
    }
    return 'ok';
  }

  private readStatics(key: PartitionKey): Promise<PartitionStatics> {
    return readStatics(this.options.client, this.options.cql, key, localQuorum);
  }

  private pages(query: string, params: unknown[]) {
    return pagedRows(this.options.client, query, params, this.options.pageSize);
  }
}

/** A dead-letter partition's statics as the view sums them: its `rejected`, nothing else. */
function rejectedOnlyStatics(statics: PartitionStatics): PartitionStatics {
  return { ...statics, total: 0, bots: 0, humans: 0, lastEventMs: 0 };
}

/** A dead-letter batch as the view sums it: its `rejected`, nothing else. */
function rejectedOnlyChange(change: Change): Change {
  const delta = new StatsDelta();
  delta.rejected = change.delta.rejected;
  return { ...change, delta };
}
