/** One reading of `/stats`' total, at a monotonic time in ms (`performance.now()`). */
export interface Sample {
  readonly at: number;
  readonly total: number;
}

/** A point of the events-per-second line: `age` ms before the newest sample. */
export interface RatePoint {
  readonly age: number;
  readonly perSecond: number;
}

/**
 * Events per second from successive totals, as the dashboard polls them: the rate between two
 * readings is what arrived between them. Keeps `spanMs` of readings (5 minutes at one a second is
 * 300). A total that goes down means the service restarted without its counts: start afresh.
 */
export class RateSeries {
  private samples: Sample[] = [];

  constructor(readonly spanMs = 5 * 60_000) {}

  add(sample: Sample): void {
    const last = this.samples[this.samples.length - 1];
    if (last && (sample.total < last.total || sample.at <= last.at)) this.samples = [];
    this.samples.push(sample);
    // Keep one reading older than the span, so the line reaches its left edge.
    while (this.samples.length > 2 && (this.samples[1] as Sample).at <= sample.at - this.spanMs) {
      this.samples.shift();
    }
  }

  /** The rate between each pair of successive readings, oldest first; empty before two readings. */
  points(): RatePoint[] {
    const newest = this.samples[this.samples.length - 1];
    if (!newest) return [];
    const points: RatePoint[] = [];
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1] as Sample;
      const b = this.samples[i] as Sample;
      points.push({ age: newest.at - b.at, perSecond: ((b.total - a.total) * 1000) / (b.at - a.at) });
    }
    return points;
  }

  /** Average rate over about the last `ms`, or undefined before two readings. */
  recent(ms: number): number | undefined {
    const newest = this.samples[this.samples.length - 1];
    if (!newest || this.samples.length < 2) return undefined;
    let from = this.samples[this.samples.length - 2] as Sample;
    for (let i = this.samples.length - 2; i >= 0; i--) {
      const s = this.samples[i] as Sample;
      from = s;
      if (s.at <= newest.at - ms) break;
    }
    return ((newest.total - from.total) * 1000) / (newest.at - from.at);
  }
}
