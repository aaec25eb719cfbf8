import { Counts, type CountsLike, type CountsSnapshot, type LegacyCountsLike } from './counts.js';

export const MINUTE_MS = 60_000;

/** The last hour is kept minute by minute. */
export const FINE_MINUTES = 60;
/** Beyond the last hour, minutes are kept in buckets of this many, aligned on the epoch. */
export const COARSE_MINUTES = 10;
/** The longest `?window=`: 24 hours, counted back from the newest event's minute. */
export const WINDOW_RETENTION_MINUTES = 24 * 60;

/**
 * A minute stamped this far ahead of the wall clock is not bucketed: one event from a host with a
 * wrong clock would otherwise become "the newest minute" and push every real minute out.
 */
export const FUTURE_SLACK_MS = 5 * MINUTE_MS;

/** The minute (whole minutes since the epoch) an event belongs to, by `meta.dt`; undefined if unparsable. */
export function minuteOf(dtMs: number): number | undefined {
  return Number.isFinite(dtMs) ? Math.floor(dtMs / MINUTE_MS) : undefined;
}

/** Whether an event time can be trusted as "newest": parsable and not ahead of the wall clock. */
export function isTrustedTime(dtMs: number, nowMs: number): boolean {
  return Number.isFinite(dtMs) && dtMs <= nowMs + FUTURE_SLACK_MS;
}

/** The counts of one bucket of event time (a minute, or ten): every window kind. */
export { Counts as MinuteCounts };

/** What a window bucket's counts are made of, in the shape older code reads (domain/user/type). */
export type MinuteCountsLike = LegacyCountsLike;

/** JSON-safe form of one bucket, for checkpoints. */
export interface MinuteSnapshot extends CountsSnapshot {
  /** Epoch ms of the bucket's start. */
  startMs: number;
}

export type { CountsSnapshot };

/** One bucket of a window, oldest first; `counts` undefined for a bucket without events. */
export interface WindowBucket {
  readonly startMs: number;
  /** 1 for the last hour; up to COARSE_MINUTES before it. */
  readonly minutes: number;
  readonly counts: Counts | undefined;
}

/** The buckets that make up the last `minutes` minutes, and the span they exactly cover. */
export interface WindowSlice {
  readonly minutes: number;
  /** Start of the oldest bucket (inclusive): see `MinuteWindow.slice` for the rounding. */
  readonly fromMs: number;
  /** End of the newest minute (exclusive). */
  readonly toMs: number;
  readonly buckets: readonly WindowBucket[];
}

/**
 * Window counts for the last 24 hours of event time, bounded by the window, not by history: the
 * newest FINE_MINUTES minutes one bucket each, the rest of the 24 hours in COARSE_MINUTES buckets
 * (a minute that leaves the last hour is merged into its 10-minute bucket), anything older dropped.
 * At most 60 + 24 * 6 + 1 buckets, each holding the distinct keys of its own events.
 *
 * Minutes are by `meta.dt`, not arrival, so windows mean the same for live and recorded data and
 * survive replays; "now" is the newest event's minute, so a late event within 24 hours lands in
 * its own bucket and an older one is dropped here (it still counts in the all-time stats).
 */
export class MinuteWindow {
  private readonly fine = new Map<number, Counts>();
  /** By coarse index: minute / COARSE_MINUTES, rounded down. */
  private readonly coarse = new Map<number, Counts>();
  private newest = Number.NEGATIVE_INFINITY;

  constructor(private readonly now: () => number = Date.now) {}

  /** Adds counts to minute `minute`; returns false when the minute is outside what is kept. */
  merge(minute: number, counts: CountsLike | LegacyCountsLike): boolean {
    if (minute * MINUTE_MS > this.now() + FUTURE_SLACK_MS) return false;
    if (minute > this.newest) this.advance(minute);
    let bucket: Counts | undefined;
    if (minute > this.newest - FINE_MINUTES) {
      bucket = this.fine.get(minute);
      if (!bucket) {
        bucket = new Counts();
        this.fine.set(minute, bucket);
      }
    } else {
      const index = Math.floor(minute / COARSE_MINUTES);
      if (index < this.oldestCoarse()) return false;
      bucket = this.coarse.get(index);
      if (!bucket) {
        bucket = new Counts();
        this.coarse.set(index, bucket);
      }
    }
    bucket.merge(counts);
    return true;
  }

  /**
   * Restores a 10-minute bucket from a checkpoint (restore the minutes first: they set "newest").
   * Returns false when it is out of the 24 hours.
   */
  mergeCoarse(startMinute: number, counts: CountsLike | LegacyCountsLike): boolean {
    const index = Math.floor(startMinute / COARSE_MINUTES);
    if (Number.isFinite(this.newest) && index < this.oldestCoarse()) return false;
    let bucket = this.coarse.get(index);
    if (!bucket) {
      bucket = new Counts();
      this.coarse.set(index, bucket);
    }
    bucket.merge(counts);
    return true;
  }

  /** Number of buckets held (for tests of the memory bound). */
  get size(): number {
    return this.fine.size + this.coarse.size;
  }

  /** Minute of the newest event bucketed, or undefined before the first. */
  get newestMinute(): number | undefined {
    return Number.isFinite(this.newest) ? this.newest : undefined;
  }

  /**
   * The buckets of the last `minutes` minutes, ending at the newest minute; undefined before the
   * first event. Up to 60 minutes: exactly those minutes. Longer: the last hour's minutes plus the
   * 10-minute buckets before it, the oldest one included whole, so the start is rounded down to a
   * multiple of 10 minutes (a 2h window covers 120 to 129 minutes; `fromMs` says exactly).
   */
  slice(minutes: number): WindowSlice | undefined {
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > WINDOW_RETENTION_MINUTES) {
      throw new RangeError(`window must be 1..${WINDOW_RETENTION_MINUTES} minutes, got ${minutes}`);
    }
    if (!Number.isFinite(this.newest)) return undefined;
    const newest = this.newest;
    const buckets: WindowBucket[] = [];
    let fromMinute = newest - minutes + 1;
    const firstFine = newest - FINE_MINUTES + 1;
    if (minutes > FINE_MINUTES) {
      const firstCoarse = Math.floor(fromMinute / COARSE_MINUTES);
      fromMinute = firstCoarse * COARSE_MINUTES;
      for (let index = firstCoarse; index * COARSE_MINUTES < firstFine; index++) {
        const start = index * COARSE_MINUTES;
        buckets.push({
          startMs: start * MINUTE_MS,
          minutes: Math.min(start + COARSE_MINUTES, firstFine) - start,
          counts: this.coarse.get(index),
        });
      }
    }
    for (let minute = Math.max(fromMinute, firstFine); minute <= newest; minute++) {
      buckets.push({ startMs: minute * MINUTE_MS, minutes: 1, counts: this.fine.get(minute) });
    }
    return { minutes, fromMs: fromMinute * MINUTE_MS, toMs: (newest + 1) * MINUTE_MS, buckets };
  }

  snapshot(): { minutes: MinuteSnapshot[]; coarse: MinuteSnapshot[] } {
    const of = (buckets: Map<number, Counts>, width: number) =>
      [...buckets]
        .sort(([a], [b]) => a - b)
        .map(([at, counts]) => ({ startMs: at * width * MINUTE_MS, ...counts.snapshot() }));
    return { minutes: of(this.fine, 1), coarse: of(this.coarse, COARSE_MINUTES) };
  }

  private oldestCoarse(): number {
    return Math.floor((this.newest - WINDOW_RETENTION_MINUTES + 1) / COARSE_MINUTES);
  }

  /** A newer minute: what leaves the last hour moves to its 10-minute bucket, what leaves 24h goes. */
  private advance(minute: number): void {
    this.newest = minute;
    for (const [kept, counts] of this.fine) {
      if (kept > minute - FINE_MINUTES) continue;
      this.fine.delete(kept);
      const index = Math.floor(kept / COARSE_MINUTES);
      if (index < this.oldestCoarse()) continue;
      const into = this.coarse.get(index);
      if (into) into.merge(counts);
      else this.coarse.set(index, counts);
    }
    const oldest = this.oldestCoarse();
    for (const index of this.coarse.keys()) if (index < oldest) this.coarse.delete(index);
  }
}
