import type { RecentChange } from '../wikimedia/event-schema.js';
import { MinuteCounts, minuteOf } from './minute-buckets.js';

/** The effect of some events on the counts: what a batch adds. Plain data, cheap to merge. */
export class StatsDelta {
  total = 0;
  /** Records that failed validation (dead-lettered); counted once, like events. */
  rejected = 0;
  bots = 0;
  humans = 0;
  readonly byDomain = new Map<string, number>();
  readonly byUser = new Map<string, number>();
  readonly byType = new Map<string, number>();
  /** Newest `meta.dt` seen, epoch ms (the stream is not ordered by dt, so keep the max). */
  lastEventMs = 0;
  /**
   * The same counts split by minute of `meta.dt` (whole minutes since the epoch), for `?window=`:
   * they travel with the batch, so windows get the same exactly-once treatment as the totals.
   */
  readonly byMinute = new Map<number, MinuteCounts>();

  add(event: RecentChange): void {
    this.total++;
    increment(this.byDomain, event.meta.domain);
    // Events without a user (none in the recorded data, but the schema allows it) count in the
    // total and by domain only: inventing a user name would pollute the user ranking.
    if (event.user !== undefined) increment(this.byUser, event.user);
    increment(this.byType, event.type ?? 'unknown');
    if (event.bot === true) this.bots++;
    else this.humans++;
    const ms = Date.parse(event.meta.dt);
    if (ms > this.lastEventMs) this.lastEventMs = ms;
    const minute = minuteOf(ms);
    if (minute !== undefined) {
      let counts = this.byMinute.get(minute);
      if (!counts) {
        counts = new MinuteCounts();
        this.byMinute.set(minute, counts);
      }
      counts.add(event);
    }
  }
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
