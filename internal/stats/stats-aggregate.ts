import {
  COUNT_KINDS,
  type CountKind,
  Counts,
  type CountsSnapshot,
  combine,
  pairKey as pairKeyOf,
  snapshotCounts,
} from './counts.js';
import { Leaderboard } from './leaderboard.js';
import {
  isTrustedTime,
  MINUTE_MS,
  type MinuteSnapshot,
  MinuteWindow,
  type WindowSlice,
} from './minute-buckets.js';
import type { StatsDelta } from './stats-delta.js';
import {
  BoundedTop,
  type BucketTotal,
  type Bytes,
  type DomainView,
  type DrillQuery,
  type PagesQuery,
  type PagesView,
  pageUrl,
  type StatsView,
  type StatsWindowView,
  SummedMaps,
  topEntries,
  type UserView,
  type WindowSpan,
} from './stats-views.js';

export type {
  CountsSnapshot,
  DomainView,
  DrillQuery,
  PagesQuery,
  PagesView,
  StatsView,
  StatsWindowView,
  UserView,
};

/** JSON-safe form for checkpoints. Fields added later are optional, so old checkpoints load. */
export interface StatsSnapshot extends CountsSnapshot {
  rejected: number;
  lastEventMs: number;
  /** Per-minute buckets of the last hour; absent in checkpoints written before windows existed. */
  minutes?: MinuteSnapshot[];
  /** 10-minute buckets of the rest of the 24 hours (`startMs` = the bucket's start). */
  coarse?: MinuteSnapshot[];
}

/** What `/stats?window=` reads from each bucket (the drill-downs and pages read their own). */
const WINDOW_VIEW_KINDS: readonly CountKind[] = [
  'domain',
  'user',
  'type',
  'domain_added',
  'domain_removed',
  'user_added',
  'user_removed',
];

/** Users kept sorted per wiki: the default `limit` (100) and some margin. */
const DOMAIN_USERS_TOP = 200;

/**
 * All counts, kept ready for reads. Grows only through `apply(delta)`. All-time counts by every
 * kind of `COUNT_KINDS` except pages; the same kinds per bucket of event time for windows
 * (MinuteWindow). Each wiki's users are kept sorted (a Leaderboard per wiki), so `?domain=` reads
 * its top N in O(N); a user's wikis and types are read by looking the user up in each wiki and
 * each type (hundreds of lookups), which keeps the per-user state to a few map entries.
 */
export class StatsAggregate {
  private total = 0;
  private rejected = 0;
  private bots = 0;
  private humans = 0;
  private lastEventMs = 0;
  private bytesAdded = 0;
  private bytesRemoved = 0;
  private readonly byDomain = new Leaderboard();
  private readonly byUser = new Leaderboard();
  private readonly byType = new Leaderboard();
  /** Every other kind (single-key and pairs), by its rule. */
  private readonly other = new Counts();
  /** `domain_user`, ranked per wiki. */
  private readonly domainUsers = new Map<string, Leaderboard>();
  private readonly minutes: MinuteWindow;
  private readonly now: () => number;

  /** `now` guards event times against events stamped in the future (see MinuteWindow, StatsDelta). */
  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
    this.minutes = new MinuteWindow(this.now);
  }

  /** Rendered views by query; cleared by every change, so reads between batches are free. */
  private readonly views = new Map<string, unknown>();

  apply(delta: StatsDelta | StatsSnapshot): void {
    this.views.clear();
    const nowMs = this.now();
    this.total += delta.total;
    this.rejected += delta.rejected;
    this.bots += delta.bots;
    this.humans += delta.humans;
    if (delta.lastEventMs > this.lastEventMs && isTrustedTime(delta.lastEventMs, nowMs)) {
      this.lastEventMs = delta.lastEventMs;
    }
    if (delta instanceof Counts) {
      this.countAll(delta, nowMs);
      for (const [minute, bucket] of delta.byMinute) this.minutes.merge(minute, bucket);
      return;
    }
    const counts = new Counts();
    counts.merge(snapshotCounts(delta));
    this.countAll(counts, nowMs);
    for (const m of delta.minutes ?? []) {
      this.minutes.merge(Math.floor(m.startMs / MINUTE_MS), snapshotCounts(m));
    }
    for (const c of delta.coarse ?? []) {
      this.minutes.mergeCoarse(Math.floor(c.startMs / MINUTE_MS), snapshotCounts(c));
    }
  }

  /** New all-time counts, walked kind by kind. */
  private countAll(counts: Counts, nowMs: number): void {
    for (const [kind, map] of counts.singleKinds()) this.countSingles(kind, map, nowMs);
    for (const [kind, outer] of counts.pairKinds()) this.countPairs(kind, outer);
  }

  /** One single kind of new counts (the per-batch hot path: no dispatch per key). */
  private countSingles(kind: CountKind, from: ReadonlyMap<string, number>, nowMs: number): void {
    switch (kind) {
      case 'domain':
        for (const [key, n] of from) this.byDomain.increment(key, n);
        return;
      case 'user':
        for (const [key, n] of from) this.byUser.increment(key, n);
        return;
      case 'type':
        for (const [key, n] of from) this.byType.increment(key, n);
        return;
      case 'domain_added':
        for (const n of from.values()) this.bytesAdded += n;
        break;
      case 'domain_removed':
        for (const n of from.values()) this.bytesRemoved += n;
        break;
    }
    const rule = COUNT_KINDS[kind];
    const mine = this.other.map(kind);
    for (const [key, n] of from) {
      // min/max kinds are event times: one from a wrong clock must not stick as "last seen".
      if (rule !== 'sum' && !isTrustedTime(n, nowMs)) continue;
      mine.set(key, combine(rule, mine.get(key), n));
    }
  }

  private countPairs(kind: CountKind, from: ReadonlyMap<string, ReadonlyMap<string, number>>): void {
    if (kind === 'page') return; // window buckets only
    for (const [a, inner] of from) {
      if (kind === 'domain_user') {
        let board = this.domainUsers.get(a);
        if (!board) {
          board = new Leaderboard(DOMAIN_USERS_TOP);
          this.domainUsers.set(a, board);
        }
        for (const [b, n] of inner) board.increment(b, n);
      } else {
        for (const [b, n] of inner) this.other.addPair(kind, a, b, n);
      }
    }
  }

  private value(kind: CountKind, key: string): number {
    return this.other.get(kind, key) ?? 0;
  }

  private cached<T>(key: string, make: () => T): T {
    if (this.views.has(key)) return this.views.get(key) as T;
    const view = make();
    // Bounded: a handful of distinct queries is the normal case; never keep more than 64.
    if (this.views.size >= 64) this.views.clear();
    this.views.set(key, view);
    return view;
  }

  /**
   * The same view object until the counts change, so `/stats` renders its JSON once per change
   * (renderStatsJson caches by view object), not once per request.
   */
  view(limit: number): StatsView {
    return this.cached(`all\u0000${limit}`, () => this.viewNow(limit));
  }

  private viewNow(limit: number): StatsView {
    const byDomain = this.byDomain.entries(limit);
    const byUser = this.byUser.entries(limit);
    return {
      total: this.total,
      rejected: this.rejected,
      byDomain,
      byUser,
      byType: this.byType.entries(Number.POSITIVE_INFINITY),
      bots: { bot: this.bots, human: this.humans },
      distinctDomains: this.byDomain.size,
      distinctUsers: this.byUser.size,
      lastEventAt: iso(this.lastEventMs),
      bytes: { added: this.bytesAdded, removed: this.bytesRemoved },
      bytesByDomain: byDomain.map(([d]) => [d, this.bytesOf('domain', d)] as const),
      bytesByUser: byUser.map(([u]) => [u, this.bytesOf('user', u)] as const),
    };
  }

  private bytesOf(of: 'domain' | 'user', key: string): Bytes {
    return { added: this.value(`${of}_added`, key), removed: this.value(`${of}_removed`, key) };
  }

  /**
   * Counts of the last `minutes` (1..1440) minutes, ending at the newest event's minute. Cost: up
   * to 60 minutes, the minutes summed; longer, the running sums of the last hour and of the
   * window's 10-minute buckets (SummedMaps, see MinuteWindow.tracked): no bucket is summed.
   */
  windowView(minutes: number, limit: number): StatsWindowView {
    return this.cached(`window\u0000${minutes}\u0000${limit}`, () => {
      const slice = this.minutes.slice(minutes);
      const sum = new Counts();
      for (const b of slice?.buckets ?? []) {
        if (b.counts && !b.inTotal) sum.mergeSingle(b.counts, WINDOW_VIEW_KINDS);
      }
      const sources = [...(slice?.totals ?? []), sum];
      const of = (kind: CountKind) => new SummedMaps(sources.map((c) => c.peek(kind)));
      const domains = of('domain');
      const users = of('user');
      const byDomain = domains.top(limit);
      const byUser = users.top(limit);
      const bytesIn = (of_: 'domain' | 'user') => {
        const added = of(`${of_}_added`);
        const removed = of(`${of_}_removed`);
        return (key: string): Bytes => ({ added: added.get(key), removed: removed.get(key) });
      };
      const domainBytes = bytesIn('domain');
      const userBytes = bytesIn('user');
      let added = 0;
      let removed = 0;
      for (const [, n] of of('domain_added').entries()) added += n;
      for (const [, n] of of('domain_removed').entries()) removed += n;
      const add = (field: 'total' | 'bots' | 'humans') => sources.reduce((n, c) => n + c[field], 0);
      return {
        ...span(minutes, slice),
        total: add('total'),
        byDomain,
        byUser,
        byType: of('type').top(Number.POSITIVE_INFINITY),
        bots: { bot: add('bots'), human: add('humans') },
        distinctDomains: domains.size,
        distinctUsers: users.size,
        perMinute: bucketTotals(slice, (c) => c.total),
        bytes: { added, removed },
        bytesByDomain: byDomain.map(([d]) => [d, domainBytes(d)] as const),
        bytesByUser: byUser.map(([u]) => [u, userBytes(u)] as const),
        lastEventAt: iso(this.lastEventMs),
      };
    });
  }

  /** One wiki; undefined for a wiki never counted. */
  domainView(domain: string, query: DrillQuery): DomainView | undefined {
    if (this.byDomain.get(domain) === 0) return undefined;
    return this.cached(`domain\u0000${query.limit}\u0000${query.minutes}\u0000${domain}`, () => {
      const lastEventAt = iso(this.value('domain_last', domain));
      if (query.minutes === undefined) {
        const users = this.domainUsers.get(domain);
        const total = this.byDomain.get(domain);
        const bots = this.value('domain_bot', domain);
        return {
          domain,
          total,
          byUser: users?.entries(query.limit) ?? [],
          byType: topEntries(this.other.pairs('domain_type').get(domain) ?? [], Number.POSITIVE_INFINITY),
          bots: { bot: bots, human: total - bots },
          bytes: this.bytesOf('domain', domain),
          distinctUsers: users?.size ?? 0,
          lastEventAt,
        };
      }
      const slice = this.minutes.slice(query.minutes);
      const users = new Map<string, number>();
      const types = new Map<string, number>();
      let total = 0;
      let bots = 0;
      let added = 0;
      let removed = 0;
      for (const counts of summands(slice)) {
        total += counts.get('domain', domain) ?? 0;
        bots += counts.get('domain_bot', domain) ?? 0;
        added += counts.get('domain_added', domain) ?? 0;
        removed += counts.get('domain_removed', domain) ?? 0;
        addAll(users, counts.pairs('domain_user').get(domain));
        addAll(types, counts.pairs('domain_type').get(domain));
      }
      return {
        domain,
        total,
        byUser: topEntries(users, query.limit),
        byType: topEntries(types, Number.POSITIVE_INFINITY),
        bots: { bot: bots, human: total - bots },
        bytes: { added, removed },
        distinctUsers: users.size,
        lastEventAt,
        window: span(query.minutes, slice),
        perMinute: bucketTotals(slice, (c) => c.get('domain', domain) ?? 0),
      };
    });
  }

  /** One user; undefined for a user never counted. */
  userView(user: string, query: DrillQuery): UserView | undefined {
    if (this.byUser.get(user) === 0) return undefined;
    return this.cached(`user\u0000${query.limit}\u0000${query.minutes}\u0000${user}`, () => {
      const seen = {
        firstSeen: iso(this.value('user_first', user)),
        lastSeen: iso(this.value('user_last', user)),
      };
      if (query.minutes === undefined) {
        const domains: Array<[string, number]> = [];
        for (const [domain, board] of this.domainUsers) {
          const n = board.get(user);
          if (n > 0) domains.push([domain, n]);
        }
        const types: Array<[string, number]> = [];
        for (const [type, users] of this.other.pairs('type_user')) {
          const n = users.get(user);
          if (n !== undefined) types.push([type, n]);
        }
        return {
          user,
          total: this.byUser.get(user),
          byDomain: topEntries(domains, query.limit),
          byType: topEntries(types, Number.POSITIVE_INFINITY),
          bot: this.value('user_bot', user) > 0,
          bytes: this.bytesOf('user', user),
          ...seen,
        };
      }
      const slice = this.minutes.slice(query.minutes);
      const domains = new Map<string, number>();
      const types = new Map<string, number>();
      let total = 0;
      let bot = 0;
      let added = 0;
      let removed = 0;
      for (const counts of summands(slice)) {
        const n = counts.get('user', user);
        if (n === undefined) continue; // not in this bucket: none of its pairs either
        total += n;
        bot += counts.get('user_bot', user) ?? 0;
        added += counts.get('user_added', user) ?? 0;
        removed += counts.get('user_removed', user) ?? 0;
        for (const [domain, users] of counts.pairs('domain_user')) addOne(domains, domain, users.get(user));
        for (const [type, users] of counts.pairs('type_user')) addOne(types, type, users.get(user));
      }
      return {
        user,
        total,
        byDomain: topEntries(domains, query.limit),
        byType: topEntries(types, Number.POSITIVE_INFINITY),
        bot: bot > 0,
        bytes: { added, removed },
        ...seen,
        window: span(query.minutes, slice),
      };
    });
  }

  /** The most edited pages of the window (all wikis, or one). */
  pagesView(query: PagesQuery): PagesView {
    return this.cached(`pages\u0000${query.minutes}\u0000${query.limit}\u0000${query.domain ?? ''}`, () => {
      const slice = this.minutes.slice(query.minutes);
      const sums = new Map<string, Map<string, number>>();
      for (const { counts, inTotal } of slice?.buckets ?? []) {
        if (!counts || inTotal) continue;
        const pages = counts.pairs('page');
        const wikis = query.domain === undefined ? pages : pageOf(pages, query.domain);
        for (const [domain, titles] of wikis) {
          let sum = sums.get(domain);
          if (!sum) {
            sum = new Map();
            sums.set(domain, sum);
          }
          addAll(sum, titles);
        }
      }
      // The running sums and what this window summed itself, each (domain, title) once.
      const sources: Array<ReadonlyMap<string, ReadonlyMap<string, number>>> = [
        ...(slice?.totals ?? []).map((c) =>
          query.domain === undefined ? c.pairs('page') : new Map(pageOf(c.pairs('page'), query.domain)),
        ),
        sums,
      ];
      type Page = readonly [string, string, number];
      const order = (a: Page, b: Page) => b[2] - a[2] || cmp(a[0], b[0]) || cmp(a[1], b[1]);
      const top = new BoundedTop<Page>(query.limit, order);
      const live = sources.filter((source) => source.size > 0);
      for (let i = 0; i < live.length; i++) {
        for (const [domain, titles] of live[i] as ReadonlyMap<string, ReadonlyMap<string, number>>) {
          const earlier = live.slice(0, i).map((source) => source.get(domain));
          const later = live.slice(i + 1).map((source) => source.get(domain));
          for (const [title, n] of titles) {
            if (earlier.some((t) => t?.has(title))) continue;
            let edits = n;
            for (const t of later) edits += t?.get(title) ?? 0;
            const worst = top.worst;
            // Most pages cannot enter a top 100: compare before building the entry.
            if (worst !== undefined) {
              const c = worst[2] - edits || cmp(domain, worst[0]) || cmp(title, worst[1]);
              if (c >= 0) continue;
            }
            top.offer([domain, title, edits]);
          }
        }
      }
      return {
        window: span(query.minutes, slice),
        pages: top
          .sorted()
          .map(([domain, title, edits]) => ({ domain, title, url: pageUrl(domain, title), edits })),
      };
    });
  }

  snapshot(): StatsSnapshot {
    const kinds = this.other.snapshot().kinds ?? [];
    const domainUsers: Array<[string, number]> = [];
    for (const [domain, board] of this.domainUsers) {
      for (const [user, n] of board.all()) domainUsers.push([pairKeyOf(domain, user), n]);
    }
    kinds.push(['domain_user', domainUsers]);
    const windows = this.minutes.snapshot();
    return {
      total: this.total,
      rejected: this.rejected,
      bots: this.bots,
      humans: this.humans,
      lastEventMs: this.lastEventMs,
      byDomain: [...this.byDomain.all()],
      byUser: [...this.byUser.all()],
      byType: [...this.byType.all()],
      kinds,
      minutes: windows.minutes,
      coarse: windows.coarse,
    };
  }

  static fromSnapshot(snapshot: StatsSnapshot, options: { now?: () => number } = {}): StatsAggregate {
    const aggregate = new StatsAggregate(options);
    aggregate.apply(snapshot);
    return aggregate;
  }
}

function iso(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function span(minutes: number, slice: WindowSlice | undefined): WindowSpan {
  return {
    minutes,
    from: slice ? new Date(slice.fromMs).toISOString() : null,
    to: slice ? new Date(slice.toMs).toISOString() : null,
  };
}

/** What a window sums: its running sums, then the buckets they do not stand for. */
function summands(slice: WindowSlice | undefined): Counts[] {
  const counts = [...(slice?.totals ?? [])];
  for (const b of slice?.buckets ?? []) if (b.counts && !b.inTotal) counts.push(b.counts);
  return counts;
}

function bucketTotals(slice: WindowSlice | undefined, total: (c: Counts) => number): BucketTotal[] {
  return (slice?.buckets ?? []).map((b) => ({
    startMs: b.startMs,
    minutes: b.minutes,
    total: b.counts ? total(b.counts) : 0,
  }));
}

function addAll(into: Map<string, number>, from: ReadonlyMap<string, number> | undefined): void {
  if (from) for (const [key, n] of from) into.set(key, (into.get(key) ?? 0) + n);
}

function addOne(into: Map<string, number>, key: string, n: number | undefined): void {
  if (n !== undefined) into.set(key, (into.get(key) ?? 0) + n);
}

function pageOf(
  pages: ReadonlyMap<string, ReadonlyMap<string, number>>,
  domain: string,
): Array<[string, ReadonlyMap<string, number>]> {
  const titles = pages.get(domain);
  return titles ? [[domain, titles]] : [];
}
