import type { RecentChange } from '../wikimedia/event-schema.js';

export const MINUTE_MS = 60_000;

/** Minutes kept for `?window=` queries, counted back from the newest event's minute. */
export const WINDOW_RETENTION_MINUTES = 60;

/**
 * A minute stamped this far ahead of the wall clock is not bucketed: one event from a host with a
 * wrong clock would otherwise become "the newest minute" and push every real minute out.
 */
export const FUTURE_SLACK_MS = 5 * MINUTE_MS;

/** The minute (whole minutes since the epoch) an event belongs to, by `meta.dt`; undefined if unparsable. */
export function minuteOf(dtMs: number): number | undefined {
  return Number.isFinite(dtMs) ? Math.floor(dtMs / MINUTE_MS) : undefined;
}

/** What a window's counts are made of; `MinuteCounts` and its snapshot form both fit. */
export interface MinuteCountsLike {
  readonly total: number;
  readonly bots: number;
  readonly humans: number;
  readonly byDomain: Iterable<readonly [string, number]>;
  readonly byUser: Iterable<readonly [string, number]>;
  readonly byType: Iterable<readonly [string, number]>;
}

/** The counts of one minute of event time: the same dimensions as the all-time stats. */
export class MinuteCounts implements MinuteCountsLike {
  total = 0;
  bots = 0;
  humans = 0;
  readonly byDomain = new Map<string, number>();
  readonly byUser = new Map<string, number>();
  readonly byType = new Map<string, number>();

  /** Same rules as `StatsDelta.add` (no user: counted in the total and by domain only). */
  add(event: RecentChange): void {
    this.total++;
    increment(this.byDomain, event.meta.domain, 1);
    if (event.user !== undefined) increment(this.byUser, event.user, 1);
    increment(this.byType, event.type ?? 'unknown', 1);
    if (event.bot === true) this.bots++;
    else this.humans++;
  }

  merge(other: MinuteCountsLike): void {
    this.total += other.total;
    this.bots += other.bots;
    this.humans += other.humans;
    for (const [key, n] of other.byDomain) increment(this.byDomain, key, n);
    for (const [key, n] of other.byUser) increment(this.byUser, key, n);
    for (const [key, n] of other.byType) increment(this.byType, key, n);
  }
}

/** JSON-safe counts, as checkpoints hold them: the all-time stats and each minute share this shape. */
export interface CountsSnapshot {
  total: number;
  bots: number;
  humans: number;
  byDomain: Array<[string, number]>;
  byUser: Array<[string, number]>;
  byType: Array<[string, number]>;
}

/** JSON-safe form of one minute, for checkpoints. */
export interface MinuteSnapshot extends CountsSnapshot {
  /** Epoch ms of the minute's start. */
  startMs: number;
}

/** Counts over the last `minutes` minutes of event time, ending with the newest event's minute. */
export interface WindowCounts {
  readonly minutes: number;
  /** Start of the first minute in the window (inclusive), or null before the first event. */
  readonly from: string | null;
  /** End of the newest minute (exclusive), or null before the first event. */
  readonly to: string | null;
  readonly total: number;
  readonly byDomain: ReadonlyArray<readonly [string, number]>;
  readonly byUser: ReadonlyArray<readonly [string, number]>;
  readonly byType: ReadonlyArray<readonly [string, number]>;
  readonly bots: { readonly bot: number; readonly human: number };
  readonly distinctDomains: number;
  readonly distinctUsers: number;
  /** Every minute of the window, oldest first, zeros included. */
  readonly perMinute: ReadonlyArray<{ readonly startMs: number; readonly total: number }>;
}

/**
 * Per-minute counts for the last `retention` minutes of event time. Bounded: at most `retention`
 * buckets, each holding the distinct keys of one minute (on the live stream, about 2-3k events and
 * under 1.5k distinct users a minute). Minutes are by `meta.dt`, not arrival, so windows mean the
 * same for live and recorded data and survive replays; "now" is the newest event's minute, so a
 * late event within retention lands in its own minute and an older one is dropped here (it still
 * counts in the all-time stats).
 */
export class MinuteWindow {
  private readonly buckets = new Map<number, MinuteCounts>();
  private newest = Number.NEGATIVE_INFINITY;

  constructor(
    readonly retention = WINDOW_RETENTION_MINUTES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds counts to minute `minute`; returns false when the minute is outside what is kept. */
  merge(minute: number, counts: MinuteCountsLike): boolean {
    if (minute * MINUTE_MS > this.now() + FUTURE_SLACK_MS) return false;
    if (minute <= this.newest - this.retention) return false;
    let bucket = this.buckets.get(minute);
    if (!bucket) {
      bucket = new MinuteCounts();
      this.buckets.set(minute, bucket);
    }
    bucket.merge(counts);
    if (minute > this.newest) {
      this.newest = minute;
      for (const kept of this.buckets.keys()) {
        if (kept <= minute - this.retention) this.buckets.delete(kept);
      }
    }
    return true;
  }

  /** Number of buckets held (for tests of the memory bound). */
  get size(): number {
    return this.buckets.size;
  }

  /** Counts of the `minutes` minutes ending at the newest minute; maps capped at `limit` entries. */
  view(minutes: number, limit: number): WindowCounts {
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > this.retention) {
      throw new RangeError(`window must be 1..${this.retention} minutes, got ${minutes}`);
    }
    const sum = new MinuteCounts();
    const perMinute: Array<{ startMs: number; total: number }> = [];
    const hasData = Number.isFinite(this.newest);
    if (hasData) {
      for (let minute = this.newest - minutes + 1; minute <= this.newest; minute++) {
        const bucket = this.buckets.get(minute);
        if (bucket) sum.merge(bucket);
        perMinute.push({ startMs: minute * MINUTE_MS, total: bucket?.total ?? 0 });
      }
    }
    return {
      minutes,
      from: hasData ? new Date((this.newest - minutes + 1) * MINUTE_MS).toISOString() : null,
      to: hasData ? new Date((this.newest + 1) * MINUTE_MS).toISOString() : null,
      total: sum.total,
      byDomain: topEntries(sum.byDomain, limit),
      byUser: topEntries(sum.byUser, limit),
      byType: topEntries(sum.byType, Number.POSITIVE_INFINITY),
      bots: { bot: sum.bots, human: sum.humans },
      distinctDomains: sum.byDomain.size,
      distinctUsers: sum.byUser.size,
      perMinute,
    };
  }

  snapshot(): MinuteSnapshot[] {
    return [...this.buckets]
      .sort(([a], [b]) => a - b)
      .map(([minute, b]) => ({
        startMs: minute * MINUTE_MS,
        total: b.total,
        bots: b.bots,
        humans: b.humans,
        byDomain: [...b.byDomain],
        byUser: [...b.byUser],
        byType: [...b.byType],
      }));
  }
}

/** Largest counts first, then key ascending: the same order as `Leaderboard`. */
function topEntries(counts: Map<string, number>, limit: number): Array<[string, number]> {
  return [...counts].sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0)).slice(0, limit);
}

function increment(map: Map<string, number>, key: string, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}
