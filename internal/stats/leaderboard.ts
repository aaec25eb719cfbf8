/**
 * Counts per key with the top `capacity` keys kept sorted at all times, so `/stats` reads the
 * top N in O(N) instead of sorting a million users per request.
 *
 * Correct because counts only grow: a key outside the top list can enter it only when its own
 * count is incremented, and that is the moment we look at it. Order: count descending, then key
 * ascending (deterministic ties).
 */
export class Leaderboard {
  private readonly counts = new Map<string, number>();
  private readonly top: string[] = [];
  private readonly topIndex = new Map<string, number>();

  constructor(readonly capacity = 1_000) {}

  get size(): number {
    return this.counts.size;
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  increment(key: string, by = 1): void {
    if (by <= 0) {
      if (by < 0) throw new RangeError('Leaderboard counts only grow');
      return;
    }
    const count = (this.counts.get(key) ?? 0) + by;
    this.counts.set(key, count);
    const at = this.topIndex.get(key);
    if (at !== undefined) {
      this.bubbleUp(at, key, count);
      return;
    }
    const last = this.top[this.top.length - 1];
    if (this.top.length < this.capacity || (last !== undefined && this.before(key, count, last))) {
      this.top.push(key);
      this.topIndex.set(key, this.top.length - 1);
      this.bubbleUp(this.top.length - 1, key, count);
      if (this.top.length > this.capacity) {
        const evicted = this.top.pop() as string;
        this.topIndex.delete(evicted);
      }
    }
  }

  /** The `limit` largest entries, sorted; `Infinity` returns every key (a full sort). */
  entries(limit: number): Array<[string, number]> {
    if (limit <= this.top.length || this.top.length === this.counts.size) {
      return this.top.slice(0, limit).map((key) => [key, this.counts.get(key) as number]);
    }
    return [...this.counts]
      .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0))
      .slice(0, limit);
  }

  /** Every count, unordered: for checkpoints and merges. */
  all(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  private before(key: string, count: number, other: string): boolean {
    const otherCount = this.counts.get(other) as number;
    return count > otherCount || (count === otherCount && key < other);
  }

  private bubbleUp(at: number, key: string, count: number): void {
    let i = at;
    while (i > 0) {
      const prev = this.top[i - 1] as string;
      if (!this.before(key, count, prev)) break;
      this.top[i] = prev;
      this.topIndex.set(prev, i);
      i--;
    }
    this.top[i] = key;
    this.topIndex.set(key, i);
  }
}
