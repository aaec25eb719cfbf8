import type { CountKind, CountsLike } from '../../stats/counts.js';
import { MinuteWindow } from '../../stats/minute-buckets.js';
import {
  type DomainView,
  type DrillQuery,
  type PagesQuery,
  type PagesView,
  StatsAggregate,
  type StatsSnapshot,
  type StatsView,
  type StatsWindowView,
  type UserView,
} from '../../stats/stats-aggregate.js';
import { StatsDelta } from '../../stats/stats-delta.js';
import type { PartitionStatics } from './partition-rows.js';

/** A `(kind, key) -> events` row as loaded, or a 'minute' row decoded. */
export type LoadedRow =
  | { readonly kind: CountKind; readonly key: string; readonly count: number; readonly version: number }
  | {
      readonly kind: 'minute';
      readonly minute: number;
      readonly counts: CountsLike;
      readonly version: number;
    };

/** One batch from the change feed (or applied by this instance). */
export interface Change {
  readonly seq: number;
  readonly fromOffset: number;
  readonly toOffset: number;
  readonly delta: StatsDelta;
}

export type ChangeOutcome = 'applied' | 'seen' | 'gap' | 'unknown';

interface Cursor {
  /** Offset and batch number the view has reached in this partition. */
  offset: number;
  seq: number;
  /**
   * Rows loaded with a version beyond the statics the load started from (written while it ran):
   * their loaded value already includes changes up to that version. Emptied once passed.
   */
  ahead: Map<string, number>;
}

/**
 * The whole topic's stats, in this process, for `/stats`: every partition loaded once (statics
 * and absolute rows), then followed through the change feed in batch order. Sums over partitions
 * land in one `StatsAggregate`, so reads cost the same as the memory store's: O(limit) from
 * leaderboards kept sorted.
 *
 * Exact because each partition's feed is a chain (batch n goes from the offset batch n-1 ended at)
 * applied at most once per batch number, and a load that raced with writes knows, by each row's
 * version, which later changes it already holds. Pure (no driver), so it is unit-tested directly.
 */
export class FollowedView {
  private readonly stats: StatsAggregate;
  private readonly cursors = new Map<string, Cursor>();
  /** Bumped on every change; views rendered at the current version are served again as they are. */
  private version = 0;
  private readonly views = new Map<number, StatsView>();
  private viewsVersion = -1;

  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
    this.stats = new StatsAggregate({ now: this.now });
  }

  has(partition: string): boolean {
    return this.cursors.has(partition);
  }

  /** Where the view stands in a partition: next batch number and offset. */
  cursor(partition: string): { readonly offset: number; readonly seq: number } | undefined {
    const c = this.cursors.get(partition);
    return c === undefined ? undefined : { offset: c.offset, seq: c.seq };
  }

  get partitions(): number {
    return this.cursors.size;
  }

  /**
   * Adds a partition from a load: `statics` read first, then `rows` (any time after). Returns false
   * and changes nothing when the partition is already followed (it was added meanwhile).
   */
  load(partition: string, statics: PartitionStatics, rows: Iterable<LoadedRow>): boolean {
    const loading = new PartitionLoad(statics, this.now);
    for (const row of rows) loading.add(row);
    return this.add(partition, loading);
  }

  /** Adds a partition whose rows were gathered in `loading`; as `load`. */
  add(partition: string, loading: PartitionLoad): boolean {
    if (this.cursors.has(partition)) return false;
    this.stats.apply(loading.snapshot());
    this.version++;
    const { statics, ahead } = loading;
    this.cursors.set(partition, { offset: statics.nextOffset, seq: statics.batches, ahead });
    return true;
  }

  /**
   * Applies one batch if it is the next one of its partition. 'seen': already in the view (this
   * instance applied it, or a refresh did); 'gap': a later batch, so one was missed (reload);
   * 'unknown': the partition is not followed yet and this is not its first batch.
   */
  apply(partition: string, change: Change): ChangeOutcome {
    let cursor = this.cursors.get(partition);
    if (cursor === undefined) {
      if (change.seq !== 0) return 'unknown';
      // A partition's first batch: nothing came before it, so the view can start from here.
      cursor = { offset: change.fromOffset, seq: 0, ahead: new Map() };
      this.cursors.set(partition, cursor);
    }
    if (change.seq < cursor.seq) return 'seen';
    if (change.seq > cursor.seq || change.fromOffset !== cursor.offset) return 'gap';
    this.stats.apply(cursor.ahead.size === 0 ? change.delta : withoutLoaded(change, cursor.ahead));
    this.version++;
    cursor.offset = change.toOffset;
    cursor.seq = change.seq + 1;
    if (cursor.ahead.size > 0 && [...cursor.ahead.values()].every((v) => v <= cursor.offset)) {
      cursor.ahead.clear();
    }
    return 'applied';
  }

  /**
   * Top `limit` of each ranking. Between changes the same view is returned (a few limits kept), so
   * a burst of `/stats` requests costs one ranking walk, not one each.
   */
  read(limit: number): StatsView {
    if (this.viewsVersion !== this.version) {
      this.views.clear();
      this.viewsVersion = this.version;
    }
    let view = this.views.get(limit);
    if (view === undefined) {
      view = this.stats.view(limit);
      if (this.views.size < 8) this.views.set(limit, view);
    }
    return view;
  }

  readWindow(minutes: number, limit: number): StatsWindowView {
    return this.stats.windowView(minutes, limit);
  }

  readDomain(domain: string, query: DrillQuery): DomainView | undefined {
    return this.stats.domainView(domain, query);
  }

  readUser(user: string, query: DrillQuery): UserView | undefined {
    return this.stats.userView(user, query);
  }

  readPages(query: PagesQuery): PagesView {
    return this.stats.pagesView(query);
  }
}

/**
 * One partition's rows gathered for `FollowedView.add`, folded as they arrive: all-time rows by
 * kind, minute rows into a MinuteWindow of their own, so a load holds at most the window's
 * buckets (60 minutes and 145 ten-minute buckets), never every minute row of the 24 hours, and
 * drops rows too old for any window (a ring slot not yet reused).
 */
export class PartitionLoad {
  /** Rows with a version past the statics (see Cursor.ahead). */
  readonly ahead = new Map<string, number>();
  private readonly kinds = new Map<CountKind, Array<[string, number]>>();
  private readonly minutes: MinuteWindow;

  constructor(
    readonly statics: PartitionStatics,
    now: () => number = Date.now,
  ) {
    this.minutes = new MinuteWindow(now);
  }

  add(row: LoadedRow): void {
    if (row.version > this.statics.nextOffset) this.ahead.set(aheadKey(row), row.version);
    if (row.kind === 'minute') {
      this.minutes.merge(row.minute, row.counts);
      return;
    }
    const list = this.kinds.get(row.kind);
    if (list) list.push([row.key, row.count]);
    else this.kinds.set(row.kind, [[row.key, row.count]]);
  }

  snapshot(): StatsSnapshot {
    const { statics } = this;
    const windows = this.minutes.snapshot();
    return {
      total: statics.total,
      rejected: statics.rejected,
      bots: statics.bots,
      humans: statics.humans,
      lastEventMs: statics.lastEventMs,
      byDomain: this.kinds.get('domain') ?? [],
      byUser: this.kinds.get('user') ?? [],
      byType: this.kinds.get('type') ?? [],
      kinds: [...this.kinds].filter(([kind]) => kind !== 'domain' && kind !== 'user' && kind !== 'type'),
      minutes: windows.minutes,
      coarse: windows.coarse,
    };
  }
}

function aheadKey(row: LoadedRow): string {
  return row.kind === 'minute' ? `minute\u0000${row.minute}` : `${row.kind}\u0000${row.key}`;
}

/** The change minus what rows loaded at a later version already count. Totals always apply. */
function withoutLoaded(change: Change, ahead: ReadonlyMap<string, number>): StatsDelta {
  const loaded = (key: string) => (ahead.get(key) ?? Number.NEGATIVE_INFINITY) >= change.toOffset;
  const from = change.delta;
  const out = new StatsDelta();
  out.total = from.total;
  out.rejected = from.rejected;
  out.bots = from.bots;
  out.humans = from.humans;
  out.lastEventMs = from.lastEventMs;
  for (const [kind, key, n] of from.entries()) {
    if (!loaded(`${kind}\u0000${key}`)) out.addCount(kind, key, n);
  }
  for (const [minute, counts] of from.byMinute) {
    if (!loaded(`minute\u0000${minute}`)) out.byMinute.set(minute, counts);
  }
  return out;
}
