// Child process of stats-http.bench.ts: fills a store with 1,000,000 distinct users and 1,000
// domains, serves the real HTTP app on loopback, and reports its memory. Kept apart from the load
// generator so the figures are the server's alone, as in a consumer process.
//   node --import tsx --expose-gc bench/stats-http-server.ts memory|cassandra-view
import { createServer } from 'node:http';
import { pino } from 'pino';
import { createHttpApp } from '../internal/http/app.js';
import { startHttpServer } from '../internal/http/server.js';
import type { BatchPlan, PartitionKey, PartitionPosition } from '../internal/stats/batch-plan.js';
import { Counts } from '../internal/stats/counts.js';
import { MINUTE_MS, MinuteCounts } from '../internal/stats/minute-buckets.js';
import { StatsDelta } from '../internal/stats/stats-delta.js';
import { FollowedView, type LoadedRow } from '../internal/store/cassandra/followed-view.js';
import { EMPTY_STATICS } from '../internal/store/cassandra/partition-rows.js';
import { MemoryStatsStore } from '../internal/store/memory-store.js';
import type { StatsStore } from '../internal/store/stats-store.js';
import type { RecentChange } from '../internal/wikimedia/event-schema.js';

export const USERS = 1_000_000;
export const DOMAINS = 1_000;
const PARTITIONS = 6;
const TYPES = ['edit', 'categorize', 'log', 'new', 'external', '142'];
/** Minutes of window buckets, each with this many distinct users: the live stream's order of size. */
const MINUTES = 60;
const USERS_PER_MINUTE = 1_500;
/**
 * The memory store also holds 24 hours of window buckets at the live stream's rate (50 events/s,
 * 3,000 a minute), pages drawn heavy-tailed from 5,000,000 titles: what `?window=24h` and
 * `/stats/pages` are bounded by.
 */
const DAY_MINUTES = 24 * 60;
const EVENTS_PER_MINUTE = 3_000;
const TITLES = 5_000_000;

/** Deterministic, so every run serves the same data. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = random(42);
/** Heavy-tailed like Wikipedia: a few bots with tens of thousands of edits, most users one or two. */
const userCount = (i: number) => Math.max(1, Math.round(20_000 / (i + 1) ** 0.9 + rand() * 2));
const userName = (i: number) => (i % 50 === 0 ? `Bot${i.toString(36)}` : `User ${i.toString(36)}-${i % 977}`);
const domainName = (i: number) => `${i.toString(36)}.wikipedia.org`;

/** Fills through the consumer's path: plans per partition applied to the memory store. */
async function memoryStore(): Promise<StatsStore> {
  const store = new MemoryStatsStore(20_000);
  const perPlan = 50_000;
  for (let from = 0; from < USERS; from += perPlan) {
    const delta = new StatsDelta();
    const now = Date.now();
    for (let i = from; i < Math.min(USERS, from + perPlan); i++) {
      const n = userCount(i);
      const user = userName(i);
      delta.byUser.set(user, n);
      delta.total += n;
      const domain = domainName(Math.floor(rand() ** 3 * DOMAINS));
      delta.byDomain.set(domain, (delta.byDomain.get(domain) ?? 0) + n);
      const type = TYPES[i % TYPES.length] as string;
      delta.byType.set(type, (delta.byType.get(type) ?? 0) + n);
      // Every other kind a user has: one wiki and one type each here, bytes, first and last seen.
      delta.addPair('domain_user', domain, user, n);
      delta.addPair('domain_type', domain, type, n);
      delta.addPair('type_user', type, user, n);
      const added = Math.floor(rand() * 2_000 * n);
      const removed = Math.floor(rand() * 500 * n);
      delta.addCount('user_added', user, added);
      delta.addCount('user_removed', user, removed);
      delta.addCount('domain_added', domain, added);
      delta.addCount('domain_removed', domain, removed);
      const first = now - Math.floor(rand() * 30 * 86_400_000);
      delta.addCount('user_first', user, first);
      delta.addCount('user_last', user, first + Math.floor(rand() * (now - first)));
      delta.addCount('domain_last', domain, now);
      if (i % 50 === 0) {
        delta.bots += n;
        delta.addCount('user_bot', user, n);
        delta.addCount('domain_bot', domain, n);
      } else delta.humans += n;
    }
    delta.lastEventMs = now;
    const partition: PartitionKey = { topic: 'wikipedia.changes', partition: (from / perPlan) % PARTITIONS };
    const position: PartitionPosition = await store.position(partition);
    const plan: BatchPlan = {
      partition,
      fromOffset: position.nextOffset,
      nextOffset: position.nextOffset + delta.total,
      delta,
      newIds: [],
      redelivered: 0,
      duplicates: 0,
    };
    await store.apply(plan);
  }
  await addDay(store);
  return store;
}

/**
 * What the Cassandra consumer serves from: the view loaded partition by partition, as the store
 * loads it at start-up (one partition's rows in memory at a time).
 */
async function cassandraView(): Promise<StatsStore> {
  const view = new FollowedView();
  const minuteDelta = new StatsDelta();
  addMinutes(minuteDelta);
  for (let p = 0; p < PARTITIONS; p++) {
    const rows: LoadedRow[] = [];
    const domains = new Map<string, number>();
    const totals = { total: 0, bots: 0, humans: 0 };
    for (let i = p; i < USERS; i += PARTITIONS) {
      const n = userCount(i);
      rows.push({ kind: 'user', key: userName(i), count: n, version: 1 });
      const domain = domainName(Math.floor(rand() ** 3 * DOMAINS));
      domains.set(domain, (domains.get(domain) ?? 0) + n);
      totals.total += n;
      if (i % 50 === 0) totals.bots += n;
      else totals.humans += n;
    }
    for (const [key, count] of domains) rows.push({ kind: 'domain', key, count, version: 1 });
    for (const type of TYPES) rows.push({ kind: 'type', key: type, count: 1, version: 1 });
    if (p === 0) {
      for (const [minute, counts] of minuteDelta.byMinute)
        rows.push({ kind: 'minute', minute, counts, version: 1 });
    }
    const statics = {
      ...EMPTY_STATICS,
      exists: true,
      nextOffset: 1,
      batches: 1,
      ...totals,
      lastEventMs: Date.now(),
    };
    view.load(`wikipedia.changes:${p}`, statics, rows);
  }
  const unused = () => Promise.reject(new Error('read-only benchmark store'));
  return {
    position: unused,
    apply: unused,
    release: () => {},
    read: async (limit) => view.read(limit),
    readWindow: async (minutes, limit) => view.readWindow(minutes, limit),
    ping: async () => {},
    close: async () => {},
  };
}

/**
 * 24 hours of synthetic events, counted per minute as StatsDelta counts real ones, one plan per
 * minute as the consumer applies them (window counts only: the all-time counts are filled above).
 */
async function addDay(store: MemoryStatsStore): Promise<void> {
  const newest = Math.floor(Date.now() / MINUTE_MS);
  const partition: PartitionKey = { topic: 'wikipedia.changes', partition: 0 };
  for (let m = newest - DAY_MINUTES + 1; m <= newest; m++) {
    const delta = new StatsDelta();
    const counts = new Counts();
    for (let j = 0; j < EVENTS_PER_MINUTE; j++) {
      const i = Math.floor(rand() ** 2 * USERS);
      const old = Math.floor(rand() * 50_000);
      const event: RecentChange = {
        meta: { id: '', dt: '', domain: domainName(Math.floor(rand() ** 3 * DOMAINS)) },
        type: TYPES[j % TYPES.length] as string,
        user: userName(i),
        bot: i % 50 === 0,
        title: `Page ${Math.floor(rand() ** 4 * TITLES).toString(36)}`,
        length: { old, new: old + Math.floor(rand() * 2_000) - 700 },
      } as RecentChange;
      counts.addEvent(event, 'window', m * MINUTE_MS);
    }
    delta.byMinute.set(m, counts);
    const position = await store.position(partition);
    await store.apply({
      partition,
      fromOffset: position.nextOffset,
      nextOffset: position.nextOffset + EVENTS_PER_MINUTE,
      delta,
      newIds: [],
      redelivered: 0,
      duplicates: 0,
    });
  }
}

function addMinutes(delta: StatsDelta): void {
  const newest = Math.floor(Date.now() / MINUTE_MS);
  for (let m = newest - MINUTES + 1; m <= newest; m++) {
    const counts = new MinuteCounts();
    for (let j = 0; j < USERS_PER_MINUTE; j++) {
      const i = Math.floor(rand() ** 2 * USERS);
      counts.merge({
        total: 2,
        bots: i % 50 === 0 ? 2 : 0,
        humans: i % 50 === 0 ? 0 : 2,
        byDomain: [[domainName(Math.floor(rand() ** 3 * DOMAINS)), 2]],
        byUser: [[userName(i), 2]],
        byType: [[TYPES[j % TYPES.length] as string, 2]],
      });
    }
    delta.byMinute.set(m, counts);
  }
}

/**
 * The machine's floor: node:http answering every request with a fixed body of a /stats response's
 * size, no routing, no store. /stats cannot be faster than this on the same machine and load.
 */
async function floor(): Promise<void> {
  const body = `{"by_user":{${Array.from({ length: 100 }, (_, i) => `"${userName(i)}":${userCount(i)}`).join(',')}},"by_domain":{${Array.from({ length: 100 }, (_, i) => `"${domainName(i)}":${i}`).join(',')}}}`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const m = process.memoryUsage();
  process.stdout.write(
    `READY ${JSON.stringify({ port, fillMs: 0, rss: m.rss, heapUsed: m.heapUsed, bytes: body.length })}\n`,
  );
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

const variant = process.argv[2] ?? 'memory';
if (variant === 'floor') {
  await floor();
} else if (variant === 'reads') {
  await timeReads();
} else {
  await serveStats();
}

async function serveStats(): Promise<void> {
  const started = performance.now();
  const store = variant === 'cassandra-view' ? await cassandraView() : await memoryStore();
  const fillMs = performance.now() - started;
  const sample = await store.read(1);
  if (sample.distinctUsers !== USERS || sample.distinctDomains > DOMAINS) {
    throw new Error(`filled ${sample.distinctUsers} users, ${sample.distinctDomains} domains`);
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const app = createHttpApp({ store, ready: async () => true, log: pino({ level: 'silent' }) });
  const server = await startHttpServer(app, '127.0.0.1', 0);
  const memory = () => {
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed };
  };
  process.stdout.write(
    `READY ${JSON.stringify({ port: server.port, fillMs, users: sample.distinctUsers, domains: sample.distinctDomains, topDomain: sample.byDomain[0]?.[0], topUser: sample.byUser[0]?.[0], ...memory() })}\n`,
  );
  setInterval(() => process.stdout.write(`MEM ${JSON.stringify(memory())}\n`), 250).unref();
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

/**
 * `reads`: no HTTP, no load: the heap after filling, then the time of one read of each windowed
 * view (6h, as a dashboard asks), first from nothing, then after a batch of the newest minute
 * (which clears the view cache, as live batches do several times a second), then after a batch of
 * a new minute (a minute leaves the last hour), as `npm run bench` cannot show one read's cost.
 */
async function timeReads(): Promise<void> {
  const started = performance.now();
  const store = (await memoryStore()) as MemoryStatsStore;
  const fillMs = performance.now() - started;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const top = await store.read(1);
  const domain = top.byDomain[0]?.[0] ?? '';
  const minutes = 360;
  const reads: Array<[string, () => Promise<unknown>]> = [
    ['/stats?window=6h', () => store.readWindow(minutes, 100)],
    ['/stats?domain=…&window=6h', () => store.readDomain(domain, { limit: 100, minutes })],
    ['/stats/pages?window=6h', () => store.readPages({ minutes, limit: 100 })],
    ['/stats?window=24h', () => store.readWindow(24 * 60, 100)],
  ];
  const time = async (when: string) => {
    // Wall ms, and CPU ms of this process (the machine is shared: wall time includes waiting).
    const row: Record<string, [number, number]> = {};
    const cpu = () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    };
    for (const [name, read] of reads) {
      const t = performance.now();
      const c = cpu();
      await read();
      row[name] = [Math.round(performance.now() - t), Math.round(cpu() - c)];
    }
    process.stdout.write(`READS ${when} ${JSON.stringify(row)}\n`);
  };
  const m = process.memoryUsage();
  process.stdout.write(
    `FILLED ${JSON.stringify({ fillMs: Math.round(fillMs), rssMiB: Math.round(m.rss / 2 ** 20), heapMiB: Math.round(m.heapUsed / 2 ** 20) })}\n`,
  );
  await time('first');
  await time('cached');
  const newest = Math.floor(Date.now() / MINUTE_MS);
  for (const [when, minute] of [
    ['after-batch', newest],
    ['after-new-minute', newest + 1],
  ] as const) {
    const applied = performance.now();
    await applyOne(store, minute, domain);
    process.stdout.write(`APPLY ${when} ${Math.round(performance.now() - applied)} ms\n`);
    await time(when);
  }
}

/** One event in `minute`, through the consumer's path (a plan), to clear the view cache. */
async function applyOne(store: MemoryStatsStore, minute: number, domain: string): Promise<void> {
  const delta = new StatsDelta(minute * MINUTE_MS + 1);
  const dt = new Date(minute * MINUTE_MS).toISOString();
  delta.add({
    meta: { id: '', dt, domain },
    type: 'edit',
    user: userName(3),
    title: 'Page 1',
  } as RecentChange);
  const partition: PartitionKey = { topic: 'wikipedia.changes', partition: 0 };
  const position = await store.position(partition);
  await store.apply({
    partition,
    fromOffset: position.nextOffset,
    nextOffset: position.nextOffset + 1,
    delta,
    newIds: [],
    redelivered: 0,
    duplicates: 0,
  });
}
