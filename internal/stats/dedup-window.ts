/**
 * The last `capacity` event ids seen, in arrival order. Guarantee: an id seen again while it is
 * still among the last `capacity` distinct ids is reported as a duplicate. Older ids are forgotten
 * (memory stays bounded); a resumed stream replays at most a few events, and a producer retry
 * repeats at most its in-flight window, both far inside the default 20,000 per partition.
 */
export class DedupWindow {
  private readonly ids = new Set<string>();
  private readonly ring: Array<string | undefined>;
  private next = 0;

  constructor(
    readonly capacity: number,
    initial: Iterable<string> = [],
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.ring = new Array(capacity);
    for (const id of initial) this.add(id);
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remembers `id`; returns false when it was already remembered (a duplicate). */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.ids.delete(evicted);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    this.ids.add(id);
    return true;
  }

  /** Oldest first, so `new DedupWindow(n, window.toArray())` restores the same window. */
  toArray(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const id = this.ring[(this.next + i) % this.capacity];
      if (id !== undefined) out.push(id);
    }
    return out;
  }
}
