import type { RecentChange } from '../wikimedia/event-schema.js';

/**
 * Every kind of count the stats keep, with how two values of it combine. A kind is a plain
 * (kind, key) -> number row, so every store keeps it the same way (the Cassandra store as one row
 * per (kind, key) per Kafka partition) and a new dimension is one more line here, not a new path.
 *
 * Pair kinds (`domain_user`, ...) have a two-part key, `pairKey(a, b)`, with the parts in the
 * order of the kind's name.
 */
export const COUNT_KINDS = {
  /** Events by wiki, by user, by type (the three rankings `/stats` always had). */
  domain: 'sum',
  user: 'sum',
  type: 'sum',
  /** Events of one wiki by user, and by type. */
  domain_user: 'sum',
  domain_type: 'sum',
  /** Events flagged `bot` by wiki, and by user (a user is a bot when this is > 0). */
  domain_bot: 'sum',
  user_bot: 'sum',
  /** Events of one type by user (the user's types: a handful of types, so keyed type first). */
  type_user: 'sum',
  /** Bytes added and removed (`length.new - length.old`, see `bytesOf`), by wiki and by user. */
  domain_added: 'sum',
  domain_removed: 'sum',
  user_added: 'sum',
  user_removed: 'sum',
  /** Newest `meta.dt` (epoch ms) of a wiki; first and last `meta.dt` of a user. */
  domain_last: 'max',
  user_first: 'min',
  user_last: 'max',
  /** Edits of one page (`pairKey(domain, title)`); kept in the window buckets only. */
  page: 'sum',
} as const;

export type CountKind = keyof typeof COUNT_KINDS;
export type CombineRule = (typeof COUNT_KINDS)[CountKind];

export const PAIR_KINDS = new Set<CountKind>(['domain_user', 'domain_type', 'type_user', 'page']);

/** The kinds all-time counts keep (pages are only kept for the windows: they grow without end). */
export const ALL_TIME_KINDS: readonly CountKind[] = (Object.keys(COUNT_KINDS) as CountKind[]).filter(
  (k) => k !== 'page',
);

export function isCountKind(value: string): value is CountKind {
  return Object.hasOwn(COUNT_KINDS, value);
}

export function combine(rule: CombineRule, current: number | undefined, n: number): number {
  if (current === undefined) return n;
  if (rule === 'sum') return current + n;
  return rule === 'min' ? Math.min(current, n) : Math.max(current, n);
}

/**
 * The key of a pair kind: the first part's length, a colon, then both parts. Unambiguous whatever
 * either part holds (a hostile user name may contain any character), and cheap to split.
 */
export function pairKey(a: string, b: string): string {
  return `${a.length}:${a}${b}`;
}

export function splitPairKey(key: string): [string, string] {
  const colon = key.indexOf(':');
  const prefix = key.slice(0, colon);
  const length = Number(prefix);
  if (colon < 1 || !/^\d+$/.test(prefix) || colon + 1 + length > key.length) {
    throw new RangeError(`not a pair key: ${JSON.stringify(key.slice(0, 40))}`);
  }
  return [key.slice(colon + 1, colon + 1 + length), key.slice(colon + 1 + length)];
}

/**
 * Bytes an event changed, signed (`length.new - length.old`): 0 unless both lengths are known (a
 * new page's absent old length counts as 0).
 */
export function byteChange(event: RecentChange): number {
  const length = event.length;
  const before = length?.old ?? (event.type === 'new' ? 0 : undefined);
  const after = length?.new;
  return before === undefined || after === undefined ? 0 : after - before;
}

/** `byteChange` as the two counts kept: bytes added and bytes removed. */
export function bytesOf(event: RecentChange): { added: number; removed: number } {
  const change = byteChange(event);
  return change >= 0 ? { added: change, removed: 0 } : { added: 0, removed: -change };
}

/** JSON-safe counts, as checkpoints hold them: the all-time stats and each bucket share this shape. */
export interface CountsSnapshot {
  total: number;
  bots: number;
  humans: number;
  byDomain: Array<[string, number]>;
  byUser: Array<[string, number]>;
  byType: Array<[string, number]>;
  /**
   * Every other kind, pair keys as `pairKey`; absent in checkpoints written before these kinds
   * existed (they then start at zero).
   */
  kinds?: Array<[string, Array<[string, number]>]>;
}

/** What counts are made of, readable from a `Counts` or a snapshot alike. */
export interface CountsLike {
  readonly total: number;
  readonly bots: number;
  readonly humans: number;
  /** Every (kind, key, value); pair kinds with `pairKey` keys. */
  entries(): Iterable<readonly [CountKind, string, number]>;
}

/** The older shape (events by wiki, user and type only): minute rows written before the other kinds. */
export interface LegacyCountsLike {
  readonly total: number;
  readonly bots: number;
  readonly humans: number;
  readonly byDomain: Iterable<readonly [string, number]>;
  readonly byUser: Iterable<readonly [string, number]>;
  readonly byType: Iterable<readonly [string, number]>;
}

type Inner = Map<string, number>;

/** The string a new key is stored under: itself, or an equal one already kept (KeyInterner). */
export type Intern = (key: string) => string;
const same: Intern = (key) => key;

/**
 * Counts of some events by kind: a batch's effect (`StatsDelta`), one window bucket. Pair kinds
 * are held nested (first part -> second part -> n), so one wiki's users or one page list is read
 * without walking every pair.
 */
export class Counts implements CountsLike {
  total = 0;
  bots = 0;
  humans = 0;
  private readonly single = new Map<CountKind, Inner>();
  private readonly nested = new Map<CountKind, Map<string, Inner>>();

  /** Adds one value by the kind's rule; pair kinds take a `pairKey`. */
  addCount(kind: CountKind, key: string, n: number, intern: Intern = same): void {
    if (PAIR_KINDS.has(kind)) {
      const [a, b] = splitPairKey(key);
      this.addPair(kind, a, b, n, intern);
      return;
    }
    let map = this.single.get(kind);
    if (!map) {
      map = new Map();
      this.single.set(kind, map);
    }
    const had = map.get(key);
    map.set(had === undefined ? intern(key) : key, combine(COUNT_KINDS[kind], had, n));
  }

  /** `intern` gives the string a new key is stored under (see KeyInterner); not called for known keys. */
  addPair(kind: CountKind, a: string, b: string, n: number, intern: Intern = same): void {
    const outer = this.outer(kind);
    let inner = outer.get(a);
    if (!inner) {
      inner = new Map();
      outer.set(intern(a), inner);
    }
    const had = inner.get(b);
    inner.set(had === undefined ? intern(b) : b, combine(COUNT_KINDS[kind], had, n));
  }

  /**
   * A single kind's map (live: writes go into the counts). Pair kinds: use `pairs()`.
   */
  map(kind: CountKind): Map<string, number> {
    let map = this.single.get(kind);
    if (!map) {
      map = new Map();
      this.single.set(kind, map);
    }
    return map;
  }

  /** A pair kind's nested map: first part -> second part -> n (read only). */
  pairs(kind: CountKind): ReadonlyMap<string, ReadonlyMap<string, number>> {
    return this.nested.get(kind) ?? EMPTY_PAIRS;
  }

  /** A single kind's map if it has one, without creating it. */
  peek(kind: CountKind): ReadonlyMap<string, number> | undefined {
    return this.single.get(kind);
  }

  get(kind: CountKind, key: string): number | undefined {
    return this.single.get(kind)?.get(key);
  }

  /** Events by wiki, user, type: live maps, for code that predates the other kinds. */
  get byDomain(): Map<string, number> {
    return this.map('domain');
  }
  get byUser(): Map<string, number> {
    return this.map('user');
  }
  get byType(): Map<string, number> {
    return this.map('type');
  }

  /** Each single kind with its map (read only), for walks kind by kind. */
  singleKinds(): IterableIterator<[CountKind, ReadonlyMap<string, number>]> {
    return this.single.entries();
  }

  /** Each pair kind with its nested map, first part -> second part -> n (read only). */
  pairKinds(): IterableIterator<[CountKind, ReadonlyMap<string, ReadonlyMap<string, number>>]> {
    return this.nested.entries();
  }

  *entries(): IterableIterator<readonly [CountKind, string, number]> {
    for (const [kind, map] of this.single) for (const [key, n] of map) yield [kind, key, n];
    for (const [kind, outer] of this.nested) {
      for (const [a, inner] of outer) for (const [b, n] of inner) yield [kind, pairKey(a, b), n];
    }
  }

  /**
   * Takes `other` (sum kinds only, as window buckets hold) back out; keys that reach 0 are removed,
   * so sizes stay distinct counts.
   */
  subtract(other: Counts): void {
    this.total -= other.total;
    this.bots -= other.bots;
    this.humans -= other.humans;
    for (const [kind, map] of other.single) {
      const mine = this.single.get(kind);
      if (!mine) continue;
      for (const [key, n] of map) {
        const left = (mine.get(key) ?? 0) - n;
        if (left > 0) mine.set(key, left);
        else mine.delete(key);
      }
    }
    for (const [kind, outer] of other.nested) {
      const mine = this.nested.get(kind);
      if (!mine) continue;
      for (const [a, inner] of outer) {
        const into = mine.get(a);
        if (!into) continue;
        for (const [b, n] of inner) {
          const left = (into.get(b) ?? 0) - n;
          if (left > 0) into.set(b, left);
          else into.delete(b);
        }
        if (into.size === 0) mine.delete(a);
      }
    }
  }

  /** Adds only the totals and the given single-key kinds of `other` (what a view needs). */
  mergeSingle(other: Counts, kinds: readonly CountKind[]): void {
    this.total += other.total;
    this.bots += other.bots;
    this.humans += other.humans;
    for (const kind of kinds) {
      const from = other.single.get(kind);
      if (!from) continue;
      const mine = this.map(kind);
      const rule = COUNT_KINDS[kind];
      for (const [key, n] of from) mine.set(key, combine(rule, mine.get(key), n));
    }
  }

  /**
   * Adds `other` to each of `targets` in one walk (a bucket and the running sums it is part of):
   * the same as `target.merge(other, intern)` for each, with each new key interned once.
   */
  static mergeInto(targets: readonly Counts[], other: Counts, intern: Intern = same): void {
    for (const target of targets) {
      target.total += other.total;
      target.bots += other.bots;
      target.humans += other.humans;
    }
    other.single.forEach((map, kind) => {
      addInto(
        targets.map((t) => t.map(kind)),
        map,
        COUNT_KINDS[kind],
        intern,
      );
    });
    other.nested.forEach((outer, kind) => {
      const outers = targets.map((t) => t.outer(kind));
      const rule = COUNT_KINDS[kind];
      outer.forEach((inner, a) => {
        let kept: string | undefined;
        const inners = outers.map((into) => {
          let mine = into.get(a);
          if (!mine) {
            mine = new Map();
            kept ??= intern(a);
            into.set(kept, mine);
          }
          return mine;
        });
        addInto(inners, inner, rule, intern);
      });
    });
  }

  private outer(kind: CountKind): Map<string, Inner> {
    let outer = this.nested.get(kind);
    if (!outer) {
      outer = new Map();
      this.nested.set(kind, outer);
    }
    return outer;
  }

  /** `intern`: as in `addPair`, for counts (of a batch) whose keys are not kept yet. */
  merge(other: CountsLike | LegacyCountsLike, intern: Intern = same): void {
    this.total += other.total;
    this.bots += other.bots;
    this.humans += other.humans;
    if (other instanceof Counts) {
      for (const [kind, map] of other.single) {
        const mine = this.map(kind);
        const rule = COUNT_KINDS[kind];
        for (const [key, n] of map) {
          const had = mine.get(key);
          mine.set(had === undefined ? intern(key) : key, combine(rule, had, n));
        }
      }
      for (const [kind, outer] of other.nested) {
        for (const [a, inner] of outer) for (const [b, n] of inner) this.addPair(kind, a, b, n, intern);
      }
      return;
    }
    if ('entries' in other) {
      for (const [kind, key, n] of other.entries()) this.addCount(kind, key, n, intern);
      return;
    }
    for (const [key, n] of other.byDomain) this.addCount('domain', key, n, intern);
    for (const [key, n] of other.byUser) this.addCount('user', key, n, intern);
    for (const [key, n] of other.byType) this.addCount('type', key, n, intern);
  }

  /**
   * Counts one event into the kinds of `scope`: all-time, every kind but pages (ALL_TIME_KINDS);
   * a window bucket, the sums (times are answered from all-time counts). `timeMs` is its `meta.dt`, or
   * undefined when it cannot be trusted (unparsable, or stamped in the future): times are then
   * left alone, so one bad clock cannot pin "last seen" for good.
   *
   * The hot path of every consumer (once per event and scope): written out kind by kind, with no
   * closure or object per event, in the order of COUNT_KINDS' use below.
   */
  addEvent(event: RecentChange, scope: 'all-time' | 'window', timeMs: number | undefined): void {
    // all-time: every kind but pages; window: the sums (no first/last times).
    const allTime = scope === 'all-time';
    const times = allTime && timeMs !== undefined;
    this.total++;
    const domain = event.meta.domain;
    const user = event.user;
    const type = event.type ?? 'unknown';
    const bot = event.bot === true;
    if (bot) this.bots++;
    else this.humans++;
    const change = byteChange(event);
    addSum(this.map('domain'), domain, 1);
    addSum(this.map('type'), type, 1);
    this.addPairSum('domain_type', domain, type, 1);
    if (bot) addSum(this.map('domain_bot'), domain, 1);
    if (change > 0) addSum(this.map('domain_added'), domain, change);
    else if (change < 0) addSum(this.map('domain_removed'), domain, -change);
    if (times) addMax(this.map('domain_last'), domain, timeMs);
    if (!allTime && event.title !== undefined) this.addPairSum('page', domain, event.title, 1);
    // Events without a user (none in the recorded data, but the schema allows it) count in the
    // total and by wiki only: inventing a user name would pollute the user ranking.
    if (user === undefined) return;
    addSum(this.map('user'), user, 1);
    this.addPairSum('domain_user', domain, user, 1);
    this.addPairSum('type_user', type, user, 1);
    if (bot) addSum(this.map('user_bot'), user, 1);
    if (change > 0) addSum(this.map('user_added'), user, change);
    else if (change < 0) addSum(this.map('user_removed'), user, -change);
    if (times) {
      addMin(this.map('user_first'), user, timeMs);
      addMax(this.map('user_last'), user, timeMs);
    }
  }

  /** `addPair` of a sum kind, without the rule lookup (the hot path of `addEvent`). */
  private addPairSum(kind: CountKind, a: string, b: string, n: number): void {
    const outer = this.outer(kind);
    let inner = outer.get(a);
    if (!inner) {
      inner = new Map();
      outer.set(a, inner);
    }
    addSum(inner, b, n);
  }

  snapshot(): CountsSnapshot {
    const kinds = new Map<string, Array<[string, number]>>();
    for (const [kind, key, n] of this.entries()) {
      if (kind === 'domain' || kind === 'user' || kind === 'type') continue;
      let list = kinds.get(kind);
      if (!list) {
        list = [];
        kinds.set(kind, list);
      }
      list.push([key, n]);
    }
    return {
      total: this.total,
      bots: this.bots,
      humans: this.humans,
      byDomain: [...(this.single.get('domain') ?? [])],
      byUser: [...(this.single.get('user') ?? [])],
      byType: [...(this.single.get('type') ?? [])],
      kinds: [...kinds],
    };
  }

  static fromSnapshot(snapshot: CountsSnapshot): Counts {
    const counts = new Counts();
    counts.merge(snapshotCounts(snapshot));
    return counts;
  }
}

const EMPTY_PAIRS: Map<string, Inner> = new Map();

function addSum(map: Inner, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

function addMin(map: Inner, key: string, n: number): void {
  const had = map.get(key);
  if (had === undefined || n < had) map.set(key, n);
}

function addMax(map: Inner, key: string, n: number): void {
  const had = map.get(key);
  if (had === undefined || n > had) map.set(key, n);
}

/** Adds every (key, n) of `from` to each map of `into` by `rule`, a new key interned once. */
function addInto(
  into: readonly Inner[],
  from: ReadonlyMap<string, number>,
  rule: CombineRule,
  intern: Intern,
): void {
  from.forEach((n, key) => {
    let kept: string | undefined;
    for (const mine of into) {
      const had = mine.get(key);
      if (had === undefined) {
        kept ??= intern(key);
        mine.set(kept, n);
      } else mine.set(key, combine(rule, had, n));
    }
  });
}

/** A snapshot read as counts (unknown kinds, from a newer version, are skipped). */
export function snapshotCounts(snapshot: CountsSnapshot): CountsLike {
  return {
    total: snapshot.total,
    bots: snapshot.bots,
    humans: snapshot.humans,
    *entries() {
      for (const [key, n] of snapshot.byDomain) yield ['domain', key, n] as const;
      for (const [key, n] of snapshot.byUser) yield ['user', key, n] as const;
      for (const [key, n] of snapshot.byType) yield ['type', key, n] as const;
      for (const [kind, list] of snapshot.kinds ?? []) {
        if (!isCountKind(kind)) continue;
        for (const [key, n] of list) yield [kind, key, n] as const;
      }
    },
  };
}
