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

/** What `/stats` shows. */
export interface StatsView {
  readonly total: number;
  readonly rejected: number;
  readonly byDomain: Entries;
  readonly byUser: Entries;
  readonly byType: Entries;
  readonly bots: { readonly bot: number; readonly human: number };
  readonly distinctDomains: number;
  readonly distinctUsers: number;
  /** ISO time of the newest event counted, or null before the first. */
  readonly lastEventAt: string | null;
  readonly bytes: Bytes;
  /** Same keys and order as `byDomain`. */
  readonly bytesByDomain: BytesEntries;
  /** Same keys and order as `byUser`. */
  readonly bytesByUser: BytesEntries;
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
export interface WindowCounts extends WindowSpan {
  readonly total: number;
  readonly byDomain: Entries;
  readonly byUser: Entries;
  readonly byType: Entries;
  readonly bots: { readonly bot: number; readonly human: number };
  readonly distinctDomains: number;
  readonly distinctUsers: number;
  readonly perMinute: readonly BucketTotal[];
  readonly bytes: Bytes;
  readonly bytesByDomain: BytesEntries;
  readonly bytesByUser: BytesEntries;
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
  const all = Array.isArray(counts)
    ? (counts as Array<[string, number]>)
    : ([...counts] as Array<[string, number]>);
  if (limit >= all.length / 4) return [...all].sort(compareEntries).slice(0, limit);
  return topBy(all, limit, compareEntries);
}

/** The `limit` smallest items by `compare`, sorted: a bounded max-heap over one pass. */
export function topBy<T>(items: Iterable<T>, limit: number, compare: (a: T, b: T) => number): T[] {
  const heap: T[] = [];
  const worse = (i: number, j: number) => compare(heap[i] as T, heap[j] as T) > 0;
  const swap = (i: number, j: number) => {
    const t = heap[i] as T;
    heap[i] = heap[j] as T;
    heap[j] = t;
  };
  for (const item of items) {
    if (heap.length < limit) {
      heap.push(item);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!worse(i, parent)) break;
        swap(i, parent);
        i = parent;
      }
    } else if (limit > 0 && compare(item, heap[0] as T) < 0) {
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
  }
  return heap.sort(compare);
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
