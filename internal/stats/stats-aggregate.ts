import { Leaderboard } from './leaderboard.js';
import {
  type CountsSnapshot,
  MINUTE_MS,
  type MinuteSnapshot,
  MinuteWindow,
  type WindowCounts,
} from './minute-buckets.js';
import type { StatsDelta } from './stats-delta.js';

/** What `/stats` shows; maps as sorted entry lists so order survives until JSON rendering. */
export interface StatsView {
  readonly total: number;
  readonly rejected: number;
  readonly byDomain: ReadonlyArray<readonly [string, number]>;
  readonly byUser: ReadonlyArray<readonly [string, number]>;
  readonly byType: ReadonlyArray<readonly [string, number]>;
  readonly bots: { readonly bot: number; readonly human: number };
  readonly distinctDomains: number;
  readonly distinctUsers: number;
  /** ISO time of the newest event counted, or null before the first. */
  readonly lastEventAt: string | null;
}

/**
 * What `/stats?window=Nm` shows: counts of the last N minutes of event time. No `rejected`: a
 * rejected record has no trustworthy `meta.dt` to put it in a minute.
 */
export interface StatsWindowView extends WindowCounts {
  /** ISO time of the newest event counted (all time), or null before the first. */
  readonly lastEventAt: string | null;
}

/** JSON-safe form for checkpoints. */
export interface StatsSnapshot extends CountsSnapshot {
  rejected: number;
  lastEventMs: number;
  /** Per-minute counts for windows; absent in checkpoints written before windows existed. */
  minutes?: MinuteSnapshot[];
}

/** All counts, kept ready for top-N reads. Grows only through `apply(delta)`. */
export class StatsAggregate {
  private total = 0;
  private rejected = 0;
  private bots = 0;
  private humans = 0;
  private lastEventMs = 0;
  private readonly byDomain = new Leaderboard();
  private readonly byUser = new Leaderboard();
  private readonly byType = new Leaderboard();
  private readonly minutes: MinuteWindow;

  /** `now` only guards the minute buckets against events stamped in the future (see MinuteWindow). */
  constructor(options: { now?: () => number } = {}) {
    this.minutes = new MinuteWindow(undefined, options.now);
  }

  /** Views of the current counts by limit; cleared by every change. Reads between batches are free. */
  private readonly views = new Map<number, StatsView>();

  apply(delta: StatsDelta | StatsSnapshot): void {
    this.views.clear();
    this.total += delta.total;
    this.rejected += delta.rejected;
    this.bots += delta.bots;
    this.humans += delta.humans;
    if (delta.lastEventMs > this.lastEventMs) this.lastEventMs = delta.lastEventMs;
    for (const [key, n] of delta.byDomain) this.byDomain.increment(key, n);
    for (const [key, n] of delta.byUser) this.byUser.increment(key, n);
    for (const [key, n] of delta.byType) this.byType.increment(key, n);
    if ('byMinute' in delta) {
      for (const [minute, counts] of delta.byMinute) this.minutes.merge(minute, counts);
    } else {
      for (const m of delta.minutes ?? []) this.minutes.merge(Math.floor(m.startMs / MINUTE_MS), m);
    }
  }

  /**
   * The same view object until the counts change, so `/stats` renders its JSON once per change
   * (renderStatsJson caches by view object), not once per request.
   */
  view(limit: number): StatsView {
    let view = this.views.get(limit);
    if (!view) {
      view = this.viewNow(limit);
      // Bounded: a handful of distinct limits is the normal case; never keep more than 32.
      if (this.views.size >= 32) this.views.clear();
      this.views.set(limit, view);
    }
    return view;
  }

  private viewNow(limit: number): StatsView {
    return {
      total: this.total,
      rejected: this.rejected,
      byDomain: this.byDomain.entries(limit),
      byUser: this.byUser.entries(limit),
      byType: this.byType.entries(Number.POSITIVE_INFINITY),
      bots: { bot: this.bots, human: this.humans },
      distinctDomains: this.byDomain.size,
      distinctUsers: this.byUser.size,
      lastEventAt: this.lastEventMs > 0 ? new Date(this.lastEventMs).toISOString() : null,
    };
  }

  /** Counts of the last `minutes` (1..60) minutes, ending at the newest event's minute. */
  windowView(minutes: number, limit: number): StatsWindowView {
    return {
      ...this.minutes.view(minutes, limit),
      lastEventAt: this.lastEventMs > 0 ? new Date(this.lastEventMs).toISOString() : null,
    };
  }

  snapshot(): StatsSnapshot {
    return {
      total: this.total,
      rejected: this.rejected,
      bots: this.bots,
      humans: this.humans,
      lastEventMs: this.lastEventMs,
      byDomain: [...this.byDomain.all()],
      byUser: [...this.byUser.all()],
      byType: [...this.byType.all()],
      minutes: this.minutes.snapshot(),
    };
  }

  static fromSnapshot(snapshot: StatsSnapshot, options: { now?: () => number } = {}): StatsAggregate {
    const aggregate = new StatsAggregate(options);
    aggregate.apply(snapshot);
    return aggregate;
  }
}
