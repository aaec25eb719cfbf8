/**
 * One string object per distinct key across the window buckets and their running sums. Names parsed
 * from JSON are fresh copies per event, so without this a user active in a hundred buckets is held
 * as a hundred equal strings. Two generations: `rotate()` forgets the keys not seen since the one
 * before, so the table holds at most the keys of the last two generations (the caller rotates by
 * event time) and a name gone from every bucket does not stay for good.
 */
export class KeyInterner {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();

  /** The kept string equal to `key` (it becomes the kept one if there is none). */
  readonly intern = (key: string): string => {
    const known = this.current.get(key);
    if (known !== undefined) return known;
    const kept = this.previous.get(key) ?? key;
    this.current.set(kept, kept);
    return kept;
  };

  rotate(): void {
    this.previous = this.current;
    this.current = new Map();
  }

  /** Keys held (both generations may hold one): for tests of the bound. */
  get size(): number {
    return this.current.size + this.previous.size;
  }
}
