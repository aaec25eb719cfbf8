/**
 * Counts per key with the top `capacity` keys kept sorted at all times, so `/stats` reads the
 * top N in O(N) instead of sorting a million users per request.
 *
 * Correct because counts only grow: a key outside the top list can enter it only when its own
 * count is incremented, and that is the moment we look at it. Order: count descending, then key
 * ascending (deterministic ties). A key's place is found by binary search on (count, key) and
 * moved with `splice` (a memmove), so an increment costs O(log K) comparisons: the long tail of
 * users tied at one or two edits never walks the list.
 */
export class Leaderboard {
  private readonly counts = new Map<string, number>();
  private readonly top: string[] = [];
  private readonly inTop = new Set<string>();

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
    const old = this.counts.get(key) ?? 0;
    const count = old + by;
    if (this.inTop.has(key)) {
      // Find it under its old count before the map changes, then move it up.
      const from = this.search(key, old);
      this.counts.set(key, count);
      const to = this.search(key, count, from);
      if (to < from) {
        this.top.splice(from, 1);
        this.top.splice(to, 0, key);
      }
      return;
    }
    this.counts.set(key, count);
    const last = this.top[this.top.length - 1];
    if (this.top.length < this.capacity || (last !== undefined && this.before(key, count, last))) {
      this.top.splice(this.search(key, count), 0, key);
      this.inTop.add(key);
      if (this.top.length > this.capacity) this.inTop.delete(this.top.pop() as string);
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

  /** First index in `top[0, end)` whose entry does not come before (key, count). */
  private search(key: string, count: number, end = this.top.length): number {
    let lo = 0;
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.top[mid] as string;
      const otherCount = other === key ? count : (this.counts.get(other) as number);
      if (otherCount > count || (otherCount === count && other < key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
