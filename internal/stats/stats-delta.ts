import type { RecentChange } from '../wikimedia/event-schema.js';
import { Counts } from './counts.js';
import { eventTimeMs } from './event-time.js';
import { isTrustedTime, MinuteCounts, minuteOf } from './minute-buckets.js';

/**
 * The effect of some events on the counts: what a batch adds. Plain data, cheap to merge: every
 * count is a (kind, key, number) of `COUNT_KINDS` (see `entries()`), plus the totals and the same
 * counts split by minute.
 */
export class StatsDelta extends Counts {
  /** Records that failed validation (dead-lettered); counted once, like events. */
  rejected = 0;
  /** Newest trusted `meta.dt`, epoch ms (the stream is not ordered by dt, so keep the max). */
  lastEventMs = 0;
  /**
   * The window counts split by minute of `meta.dt` (whole minutes since the epoch), for `?window=`:
   * they travel with the batch, so windows get the same exactly-once treatment as the totals.
   */
  readonly byMinute = new Map<number, MinuteCounts>();

  /**
   * `nowMs` is when the batch is planned: an event stamped further in the future than
   * FUTURE_SLACK_MS counts, but its time is not trusted (no last-seen, no minute), so one event
   * dated 9999-12-31 cannot pin `last_event_at` for good.
   */
  constructor(private readonly nowMs: number = Date.now()) {
    super();
  }

  add(event: RecentChange): void {
    const ms = eventTimeMs(event.meta.dt);
    const trusted = isTrustedTime(ms, this.nowMs);
    this.addEvent(event, 'all-time', trusted ? ms : undefined);
    if (!trusted) return;
    if (ms > this.lastEventMs) this.lastEventMs = ms;
    const minute = minuteOf(ms) as number;
    let counts = this.byMinute.get(minute);
    if (!counts) {
      counts = new MinuteCounts();
      this.byMinute.set(minute, counts);
    }
    counts.addEvent(event, 'window', ms);
  }
}
