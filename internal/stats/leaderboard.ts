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
  /** The top keys in order, and their counts alongside (searches read no map). */
  private readonly top: string[] = [];
  private readonly topCounts: number[] = [];
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
    const old = this.counts.get(key);
    const count = (old ?? 0) + by;
    this.counts.set(key, count);
    const { top, topCounts } = this;
    if (old !== undefined && this.inTop.has(key)) {
      // Found under its old count (still in topCounts), then moved up.
      const from = this.search(key, old);
      const to = this.search(key, count, from);
      if (to < from) {
        top.splice(from, 1);
        top.splice(to, 0, key);
        topCounts.splice(from, 1);
        topCounts.splice(to, 0, count);
      } else topCounts[to] = count;
      return;
    }
    const last = top.length - 1;
    if (
      top.length < this.capacity ||
      count > (topCounts[last] as number) ||
      (count === topCounts[last] && key < (top[last] as string))
    ) {
      const at = this.search(key, count);
      top.splice(at, 0, key);
      topCounts.splice(at, 0, count);
      this.inTop.add(key);
      if (top.length > this.capacity) {
        this.inTop.delete(top.pop() as string);
        topCounts.pop();
      }
    }
  }

  /** The `limit` largest entries, sorted; `Infinity` returns every key (a full sort). */
  entries(limit: number): Array<[string, number]> {
    if (limit <= this.top.length || this.top.length === this.counts.size) {
      return this.top.slice(0, limit).map((key, i) => [key, this.topCounts[i] as number]);
    }
    return [...this.counts]
      .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0))
      .slice(0, limit);
  }

  /** Every count, unordered: for checkpoints and merges. */
  all(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  /** First index in `top[0, end)` whose entry does not come before (key, count). */
  private search(key: string, count: number, end = this.top.length): number {
    const { top, topCounts } = this;
    let lo = 0;
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const otherCount = topCounts[mid] as number;
      if (otherCount > count || (otherCount === count && (top[mid] as string) < key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
