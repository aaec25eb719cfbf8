/**
 * What the stats queries answer: plain views, maps as sorted entry lists (count descending, ties
 * by key) so order survives until JSON rendering. Every store returns these.
 */

export type Entries = ReadonlyArray<readonly [string, number]>;

export interface Bytes {
  readonly added: number;
  readonly removed: number;
}

/** Bytes of each key of a ranking, in the ranking's order. */
export type BytesEntries = ReadonlyArray<readonly [string, Bytes]>;

/** The rankings and totals `/stats` shows, all time or over a window. */
interface RankedCounts {
  readonly total: number;
  readonly byDomain: Entries;
  readonly byUser: Entries;
  readonly byType: Entries;
  readonly bots: { readonly bot: number; readonly human: number };
  readonly distinctDomains: number;
  readonly distinctUsers: number;
  readonly bytes: Bytes;
  /** Same keys and order as `byDomain`. */
  readonly bytesByDomain: BytesEntries;
  /** Same keys and order as `byUser`. */
  readonly bytesByUser: BytesEntries;
}

/** What `/stats` shows. */
export interface StatsView extends RankedCounts {
  readonly rejected: number;
  /** ISO time of the newest event counted, or null before the first. */
  readonly lastEventAt: string | null;
}

/** The span a window covers; `from`/`to` null before the first event. */
export interface WindowSpan {
  readonly minutes: number;
  /** Start of the oldest bucket (inclusive); longer than an hour, rounded down to 10 minutes. */
  readonly from: string | null;
  /** End of the newest minute (exclusive). */
  readonly to: string | null;
}

/** One bucket's total, oldest first, zeros included; `minutes` is 1 within the last hour. */
export interface BucketTotal {
  readonly startMs: number;
  readonly minutes: number;
  readonly total: number;
}

/** Counts over the last N minutes of event time, ending with the newest event's minute. */
export interface WindowCounts extends WindowSpan, RankedCounts {
  readonly perMinute: readonly BucketTotal[];
}

/**
 * What `/stats?window=Nm` shows. No `rejected`: a rejected record has no trustworthy `meta.dt` to
 * put it in a minute.
 */
export interface StatsWindowView extends WindowCounts {
  /** ISO time of the newest event counted (all time), or null before the first. */
  readonly lastEventAt: string | null;
}

/** `readDomain` / `readUser`: top-N size, and a window in minutes (absent: all time). */
export interface DrillQuery {
  readonly limit: number;
  readonly minutes?: number;
}

/** `/stats?domain=`: one wiki. */
export interface DomainView {
  readonly domain: string;
  readonly total: number;
  readonly byUser: Entries;
  readonly byType: Entries;
  readonly bots: { readonly bot: number; readonly human: number };
  readonly bytes: Bytes;
  readonly distinctUsers: number;
  /** Newest event of this wiki (all time), or null. */
  readonly lastEventAt: string | null;
  /** Present when the query had a window. */
  readonly window?: WindowSpan;
  readonly perMinute?: readonly BucketTotal[];
}

/** `/stats/users/{name}`: one user. */
export interface UserView {
  readonly user: string;
  readonly total: number;
  readonly byDomain: Entries;
  readonly byType: Entries;
  /** Any of their events (in the query's span) flagged bot. */
  readonly bot: boolean;
  readonly bytes: Bytes;
  /** First and last trusted `meta.dt` of theirs, all time (null if none was trustworthy). */
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  readonly window?: WindowSpan;
}

export interface PagesQuery {
  readonly minutes: number;
  readonly limit: number;
  readonly domain?: string;
}

export interface PageEntry {
  readonly domain: string;
  readonly title: string;
  readonly url: string;
  readonly edits: number;
}

/** `/stats/pages`: the most edited pages in the window. */
export interface PagesView {
  readonly window: WindowSpan;
  /** Edits descending, ties by domain then title. */
  readonly pages: readonly PageEntry[];
}

/** Order of every ranking: count descending, then key ascending (UTF-16 order, deterministic). */
export function compareEntries(a: readonly [string, number], b: readonly [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/**
 * The `limit` first entries in ranking order. A full sort only when most are wanted; otherwise one
 * pass keeping the best `limit` (a heap), so a top 100 of a million costs a million comparisons.
 */
export function topEntries(
  counts: Iterable<readonly [string, number]>,
  limit: number,
): Array<[string, number]> {
  if (!(limit > 0)) return [];
  if (counts instanceof Map) {
    const map = counts as ReadonlyMap<string, number>;
    if (limit >= map.size / 4) return [...map].sort(compareEntries).slice(0, limit);
    const top = new BoundedTop<[string, number]>(limit, compareEntries);
    // forEach, not entries(): no [key, value] array per entry, only for the few that enter.
    map.forEach((n, key) => {
      offerEntry(top, key, n);
    });
    return top.sorted();
  }
  const all = Array.isArray(counts)
    ? (counts as Array<[string, number]>)
    : ([...counts] as Array<[string, number]>);
  if (limit >= all.length / 4) return [...all].sort(compareEntries).slice(0, limit);
  return topBy(all, limit, compareEntries);
}

/** Offers (key, n) to a ranking's top, building the entry only when it gets in. */
function offerEntry(top: BoundedTop<[string, number]>, key: string, n: number): void {
  const worst = top.worst;
  if (worst !== undefined && (worst[1] > n || (worst[1] === n && worst[0] <= key))) return;
  top.offer([key, n]);
}

/** The `limit` smallest items by `compare`, sorted: a bounded max-heap over one pass. */
export function topBy<T>(items: Iterable<T>, limit: number, compare: (a: T, b: T) => number): T[] {
  const top = new BoundedTop(limit, compare);
  for (const item of items) top.offer(item);
  return top.sorted();
}

/**
 * The best `limit` items seen (smallest by `compare`). `worst` lets a caller skip an item that
 * cannot enter before building it, so a walk over millions of entries allocates only for the few
 * that do.
 */
export class BoundedTop<T> {
  private readonly heap: T[] = [];

  constructor(
    private readonly limit: number,
    private readonly compare: (a: T, b: T) => number,
  ) {}

  /** The item an offer must beat once full; undefined while there is room. */
  get worst(): T | undefined {
    return this.heap.length < this.limit ? undefined : this.heap[0];
  }

  offer(item: T): void {
    const heap = this.heap;
    if (!(this.limit > 0)) return;
    const worse = (i: number, j: number) => this.compare(heap[i] as T, heap[j] as T) > 0;
    const swap = (i: number, j: number) => {
      const t = heap[i] as T;
      heap[i] = heap[j] as T;
      heap[j] = t;
    };
    if (heap.length < this.limit) {
      heap.push(item);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!worse(i, parent)) break;
        swap(i, parent);
        i = parent;
      }
      return;
    }
    if (this.compare(item, heap[0] as T) >= 0) return;
    heap[0] = item;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < heap.length && worse(l, top)) top = l;
      if (r < heap.length && worse(r, top)) top = r;
      if (top === i) break;
      swap(i, top);
      i = top;
    }
  }

  sorted(): T[] {
    return [...this.heap].sort(this.compare);
  }
}

/**
 * A page's link: `https://<domain>/wiki/<title>`, encoded as MediaWiki encodes titles in URLs
 * (spaces as `_`, then PHP urlencode with `;@$!*(),/~:` left as they are: wfUrlencode).
 */
export function pageUrl(domain: string, title: string): string {
  const path = encodeURIComponent(title.replaceAll(' ', '_'))
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%(3B|40|24|21|2A|28|29|2C|2F|7E|3A)/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
  return `https://${domain}/wiki/${path}`;
}

/**
 * Maps read as their sum without copying any: the running sums of the last hour and of the 24 hours
 * plus whatever buckets a window sums itself, so a ranking walks each map once.
 */
export class SummedMaps {
  private readonly maps: ReadonlyArray<ReadonlyMap<string, number>>;

  constructor(maps: ReadonlyArray<ReadonlyMap<string, number> | undefined>) {
    this.maps = maps.filter((m): m is ReadonlyMap<string, number> => m !== undefined && m.size > 0);
  }

  get(key: string): number {
    let n = 0;
    for (const map of this.maps) n += map.get(key) ?? 0;
    return n;
  }

  get size(): number {
    // forEach, not the keys() generator: a million keys without a million iterator steps.
    let size = 0;
    this.maps.forEach((map, i) => {
      if (i === 0) size += map.size;
      else
        map.forEach((_, key) => {
          if (!this.inEarlier(key, i)) size++;
        });
    });
    return size;
  }

  /** Each key once: from the first map that has it. */
  private *keys(): Generator<string> {
    for (let i = 0; i < this.maps.length; i++) {
      for (const key of (this.maps[i] as ReadonlyMap<string, number>).keys()) {
        if (!this.inEarlier(key, i)) yield key;
      }
    }
  }

  private inEarlier(key: string, i: number): boolean {
    for (let j = 0; j < i; j++) if ((this.maps[j] as ReadonlyMap<string, number>).has(key)) return true;
    return false;
  }

  *entries(): Generator<[string, number]> {
    if (this.maps.length === 1) {
      yield* (this.maps[0] as ReadonlyMap<string, number>).entries();
      return;
    }
    for (const key of this.keys()) yield [key, this.get(key)];
  }

  top(limit: number): Array<[string, number]> {
    if (this.maps.length === 0 || !(limit > 0)) return [];
    if (this.maps.length === 1) return topEntries(this.maps[0] as ReadonlyMap<string, number>, limit);
    const top = new BoundedTop<[string, number]>(limit, compareEntries);
    this.maps.forEach((map, i) => {
      map.forEach((_, key) => {
        if (!this.inEarlier(key, i)) offerEntry(top, key, this.get(key));
      });
    });
    return top.sorted();
  }
}
