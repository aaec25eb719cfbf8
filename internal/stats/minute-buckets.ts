import { Counts, type CountsLike, type CountsSnapshot, type LegacyCountsLike } from './counts.js';
import { KeyInterner } from './key-interner.js';

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

/**
 * Window lengths between 1h and 24h whose 10-minute part is kept summed (see MinuteWindow.tracked):
 * each costs at most the memory of the 24h running sum, so only a few, the most recently read.
 */
export const TRACKED_WINDOWS = 4;

/** The running sum of the 10-minute buckets from index `from` on. */
interface TrackedSum {
  from: number;
  readonly counts: Counts;
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
  /** Already in the slice's `coarseTotal`: read it for its own total only, do not sum it again. */
  readonly inTotal?: boolean;
}

/** The buckets that make up the last `minutes` minutes, and the span they exactly cover. */
export interface WindowSlice {
  readonly minutes: number;
  /** Start of the oldest bucket (inclusive): see `MinuteWindow.slice` for the rounding. */
  readonly fromMs: number;
  /** End of the newest minute (exclusive). */
  readonly toMs: number;
  readonly buckets: readonly WindowBucket[];
  /**
   * Running sums that stand for the buckets marked `inTotal`: the whole last hour (any window of
   * 60 minutes or more) and every 10-minute bucket kept (a 24h window). Kept up to date as counts
   * arrive and minutes age, so the usual windows are read without summing any bucket.
   */
  readonly totals: readonly Counts[];
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
  /** The sum of every bucket in `fine`, and of every bucket in `coarse`. */
  private readonly fineSum = new Counts();
  private readonly coarseSum = new Counts();
  /**
   * By window length (minutes, > 60 and < 24h): the running sum of the 10-minute buckets that
   * window covers, made at its first read and kept up to date like `coarseSum`, so reading a 6h
   * window sums no bucket either. At most TRACKED_WINDOWS lengths, the least recently read dropped.
   */
  private readonly tracked = new Map<number, TrackedSum>();
  private newest = Number.NEGATIVE_INFINITY;
  /**
   * Every key the buckets and sums hold, once (see KeyInterner); a generation is 12 hours of
   * event time, so it holds the keys seen in at most the last 24 hours.
   */
  private readonly keys = new KeyInterner();
  private rotatedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly now: () => number = Date.now) {}

  /** Adds counts to minute `minute`; returns false when the minute is outside what is kept. */
  merge(minute: number, counts: CountsLike | LegacyCountsLike): boolean {
    if (minute * MINUTE_MS > this.now() + FUTURE_SLACK_MS) return false;
    if (minute > this.newest) this.advance(minute);
    let bucket: Counts | undefined;
    let sums: Counts[];
    if (minute > this.newest - FINE_MINUTES) {
      bucket = this.fine.get(minute);
      if (!bucket) {
        bucket = new Counts();
        this.fine.set(minute, bucket);
      }
      sums = [this.fineSum];
    } else {
      const index = Math.floor(minute / COARSE_MINUTES);
      if (index < this.oldestCoarse()) return false;
      bucket = this.coarse.get(index);
      if (!bucket) {
        bucket = new Counts();
        this.coarse.set(index, bucket);
      }
      sums = this.coarseSums(index);
    }
    this.add([bucket, ...sums], counts);
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
    this.add([bucket, ...this.coarseSums(index)], counts);
    return true;
  }

  /** New counts into a bucket and its running sums: one walk, each new key interned once. */
  private add(targets: readonly Counts[], counts: CountsLike | LegacyCountsLike): void {
    if (counts instanceof Counts) Counts.mergeInto(targets, counts, this.keys.intern);
    else for (const target of targets) target.merge(counts, this.keys.intern);
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
    const totals: Counts[] = [];
    if (minutes > FINE_MINUTES) {
      const firstCoarse = Math.floor(fromMinute / COARSE_MINUTES);
      fromMinute = firstCoarse * COARSE_MINUTES;
      // Every bucket kept is inside: their running sum answers for all of them; otherwise the
      // running sum of this window length's buckets does.
      const all =
        firstCoarse <= this.oldestCoarse() || [...this.coarse.keys()].every((i) => i >= firstCoarse);
      totals.push(all ? this.coarseSum : this.trackedSum(minutes, firstCoarse));
      for (let index = firstCoarse; index * COARSE_MINUTES < firstFine; index++) {
        const start = index * COARSE_MINUTES;
        buckets.push({
          startMs: start * MINUTE_MS,
          minutes: Math.min(start + COARSE_MINUTES, firstFine) - start,
          counts: this.coarse.get(index),
          inTotal: true,
        });
      }
    }
    const wholeHour = minutes >= FINE_MINUTES;
    if (wholeHour) totals.push(this.fineSum);
    for (let minute = Math.max(fromMinute, firstFine); minute <= newest; minute++) {
      buckets.push({
        startMs: minute * MINUTE_MS,
        minutes: 1,
        counts: this.fine.get(minute),
        inTotal: wholeHour,
      });
    }
    return { minutes, fromMs: fromMinute * MINUTE_MS, toMs: (newest + 1) * MINUTE_MS, buckets, totals };
  }

  snapshot(): { minutes: MinuteSnapshot[]; coarse: MinuteSnapshot[] } {
    const of = (buckets: Map<number, Counts>, width: number) =>
      [...buckets]
        .sort(([a], [b]) => a - b)
        .map(([at, counts]) => ({ startMs: at * width * MINUTE_MS, ...counts.snapshot() }));
    return { minutes: of(this.fine, 1), coarse: of(this.coarse, COARSE_MINUTES) };
  }

  /** The running sum of the buckets from `firstCoarse` on, for windows of `minutes` (see `tracked`). */
  private trackedSum(minutes: number, firstCoarse: number): Counts {
    let sum = this.tracked.get(minutes);
    if (sum) {
      this.tracked.delete(minutes); // re-inserted last: the map's order is the reads' order
    } else {
      sum = { from: firstCoarse, counts: new Counts() };
      for (const [index, counts] of this.coarse) if (index >= firstCoarse) sum.counts.merge(counts);
      if (this.tracked.size >= TRACKED_WINDOWS) {
        this.tracked.delete(this.tracked.keys().next().value as number);
      }
    }
    this.tracked.set(minutes, sum);
    return sum.counts;
  }

  /** The running sums 10-minute bucket `index` is part of: all of them, and the windows' that cover it. */
  private coarseSums(index: number): Counts[] {
    const sums = [this.coarseSum];
    for (const sum of this.tracked.values()) if (index >= sum.from) sums.push(sum.counts);
    return sums;
  }

  private oldestCoarse(): number {
    return Math.floor((this.newest - WINDOW_RETENTION_MINUTES + 1) / COARSE_MINUTES);
  }

  /** A newer minute: what leaves the last hour moves to its 10-minute bucket, what leaves 24h goes. */
  private advance(minute: number): void {
    this.newest = minute;
    if (!(minute - this.rotatedAt < WINDOW_RETENTION_MINUTES / 2)) {
      this.keys.rotate();
      this.rotatedAt = minute;
    }
    // Each window length's first bucket moves on: the buckets it leaves come out of its sum
    // (before any of them is dropped below).
    for (const [minutes, sum] of this.tracked) {
      const from = Math.floor((minute - minutes + 1) / COARSE_MINUTES);
      for (let index = sum.from; index < from; index++) {
        const leaving = this.coarse.get(index);
        if (leaving) sum.counts.subtract(leaving);
      }
      sum.from = Math.max(sum.from, from);
    }
    const oldest = this.oldestCoarse();
    for (const [index, counts] of this.coarse) {
      if (index >= oldest) continue;
      this.coarse.delete(index);
      this.coarseSum.subtract(counts);
    }
    for (const [kept, counts] of this.fine) {
      if (kept > minute - FINE_MINUTES) continue;
      this.fine.delete(kept);
      const index = Math.floor(kept / COARSE_MINUTES);
      this.fineSum.subtract(counts);
      if (index < oldest) continue;
      // Its keys are kept already: no interning.
      const into = this.coarse.get(index);
      if (into) Counts.mergeInto([into, ...this.coarseSums(index)], counts);
      else {
        this.coarse.set(index, counts);
        Counts.mergeInto(this.coarseSums(index), counts);
      }
    }
  }
}
