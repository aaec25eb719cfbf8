import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_EVENTS_DIR, sharedRecording } from '../../test/support/paths.js';
import { WikistreamError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import { createMetrics } from '../metrics/metrics.js';
import { readRecordedEvents } from '../replay/recorded-events.js';
import { planBatch } from '../stats/batch-plan.js';
import { MINUTE_MS } from '../stats/minute-buckets.js';
import { MemoryStatsStore } from '../store/memory-store.js';
import type { StatsStore } from '../store/stats-store.js';
import { exploreEvents } from '../store/store-contract.js';
import { parseRecentChange, type RecentChange } from '../wikimedia/event-schema.js';
import { createHttpApp } from './app.js';

const RECORDED = sharedRecording('pageledger-enwiki-2026-07-17.ndjson');
const log = createLogger({ level: 'silent' });

let webRoot: string;
beforeAll(() => {
  webRoot = mkdtempSync(join(tmpdir(), 'wikistream-web-'));
  execFileSync(process.execPath, ['scripts/build-web.mjs', '--out', webRoot], { stdio: 'pipe' });
});
afterAll(() => rmSync(webRoot, { recursive: true, force: true }));

async function storeWith(events: readonly RecentChange[]): Promise<MemoryStatsStore> {
  const store = new MemoryStatsStore(10_000);
  const partition = { topic: 't', partition: 0 };
  const records = events.map((event, offset) => ({ offset, event }));
  await store.apply(planBatch(partition, await store.position(partition), records, records.length));
  return store;
}

function recorded(): RecentChange[] {
  return readRecordedEvents([RECORDED]).map((line) => {
    const parsed = parseRecentChange(line, 1 << 20);
    if (!parsed.ok) throw new Error(parsed.detail);
    return parsed.event;
  });
}

describe('/stats?window=', () => {
  it.skipIf(!existsSync(RECORDED))('counts the last N minutes of event time', async () => {
    const events = recorded();
    const app = createHttpApp({ store: await storeWith(events), ready: async () => true, log, webRoot });

    const response = await app.request('/stats?window=5m&limit=3');
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'total',
      'rejected',
      'by_domain',
      'by_user',
      'by_type',
      'bots',
      'domains',
      'users',
      'last_event_at',
      'limit',
      'window',
      'per_minute',
      'bytes',
      'bytes_by_domain',
      'bytes_by_user',
    ]);

    const minuteOf = (e: RecentChange) => Math.floor(Date.parse(e.meta.dt) / MINUTE_MS);
    const newest = Math.max(...events.map(minuteOf));
    const inside = events.filter((e) => minuteOf(e) > newest - 5);
    const users = new Map<string, number>();
    for (const e of inside) if (e.user) users.set(e.user, (users.get(e.user) ?? 0) + 1);
    const topUsers = [...users]
      .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : 1))
      .slice(0, 3)
      .map(([user, n]) => `${JSON.stringify(user)}:${n}`);

    expect(body.total).toBe(inside.length);
    expect(body.rejected).toBeNull();
    expect(body.users).toBe(users.size);
    expect(body.limit).toBe(3);
    // Order matters and JSON.parse would reorder integer-like keys: check the raw text.
    const raw = await (await app.request('/stats?window=5m&limit=3')).text();
    expect(raw).toContain(`"by_user":{${topUsers.join(',')}}`);
    expect(body.window).toEqual({
      minutes: 5,
      from: new Date((newest - 4) * MINUTE_MS).toISOString(),
      to: new Date((newest + 1) * MINUTE_MS).toISOString(),
    });
    const perMinute = body.per_minute as Array<{ minute: string; total: number }>;
    expect(perMinute.map((m) => m.minute)).toEqual(
      [4, 3, 2, 1, 0].map((back) => new Date((newest - back) * MINUTE_MS).toISOString()),
    );
    expect(perMinute.reduce((sum, m) => sum + m.total, 0)).toBe(inside.length);

    const hour = (await (await app.request('/stats?window=1h&limit=all')).json()) as { total: number };
    const sixty = (await (await app.request('/stats?window=60m&limit=all')).json()) as { total: number };
    expect(hour).toEqual(sixty);
    expect(hour.total).toBe(events.length); // the recording spans under an hour
  });

  it('keeps /stats without a window exactly as before', async () => {
    const app = createHttpApp({ store: new MemoryStatsStore(10), ready: async () => true, log, webRoot });
    const response = await app.request('/stats');
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.text()).toBe(
      '{"total":0,"rejected":0,"by_domain":{},"by_user":{},"by_type":{},"bots":{"bot":0,"human":0},' +
        '"domains":0,"users":0,"last_event_at":null,"limit":100,' +
        '"bytes":{"added":0,"removed":0},"bytes_by_domain":{},"bytes_by_user":{}}',
    );
  });

  it('answers an empty window before the first event', async () => {
    const app = createHttpApp({ store: new MemoryStatsStore(10), ready: async () => true, log, webRoot });
    const body = await (await app.request('/stats?window=15m')).json();
    expect(body).toMatchObject({ total: 0, window: { minutes: 15, from: null, to: null }, per_minute: [] });
  });

  it.each([
    '0m',
    '61m',
    '90m',
    '0h',
    '25h',
    '5',
    'm',
    '5min',
    '-5m',
    '5M',
    '1.5m',
    '',
    ' 5m',
    '99999m',
    'all',
  ])('rejects window=%j with a 400 JSON error', async (window) => {
    const app = createHttpApp({ store: new MemoryStatsStore(10), ready: async () => true, log, webRoot });
    const response = await app.request(`/stats?window=${encodeURIComponent(window)}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe('bad_request');
    expect(body.message).toMatch(
      /^query parameter window: must be minutes from 1m to 60m or hours from 1h to 24h/,
    );
  });

  it('answers 501 for a store that keeps no per-minute counts', async () => {
    const memory = new MemoryStatsStore(10);
    const store: StatsStore = {
      position: (p) => memory.position(p),
      apply: (plan) => memory.apply(plan),
      release: () => {},
      read: (limit) => memory.read(limit),
      ping: async () => {},
      close: async () => {},
    };
    const app = createHttpApp({ store, ready: async () => true, log, webRoot });
    const response = await app.request('/stats?window=5m');
    expect(response.status).toBe(501);
    expect(await response.json()).toMatchObject({ error: 'not_implemented' });
    expect((await app.request('/stats')).status).toBe(200);
  });
});

describe('/metrics', () => {
  it('is served in Prometheus text format when a registry is given, and absent otherwise', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.eventsConsumed.inc(7);
    const store = new MemoryStatsStore(10);
    const withMetrics = createHttpApp({
      store,
      ready: async () => true,
      log,
      webRoot,
      metrics: metrics.registry,
    });
    const response = await withMetrics.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(await response.text()).toMatch(/^wikistream_events_consumed_total 7$/m);

    const without = createHttpApp({ store, ready: async () => true, log, webRoot });
    expect((await without.request('/metrics')).status).toBe(404);
  });
});

describe('dashboard', () => {
  it('serves the built page and its assets, same-origin only', async () => {
    const app = createHttpApp({ store: new MemoryStatsStore(10), ready: async () => true, log, webRoot });
    const page = await app.request('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    // Every script and stylesheet is one of ours: nothing from another host.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs.filter((ref) => /^(https?:)?\/\//.test(ref))).toEqual([]);
    for (const ref of refs.filter((r) => r.startsWith('/assets/'))) {
      const asset = await app.request(ref);
      expect(asset.status, ref).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(100);
    }
    expect((await app.request('/assets/dashboard.js')).headers.get('content-type')).toBe(
      'text/javascript; charset=utf-8',
    );
    expect((await app.request('/assets/../package.json')).status).toBe(404);
    expect((await app.request('/assets/index.html')).status).toBe(404);
  });

  it('answers 503 JSON, not a crash, when the dashboard was not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'wikistream-noweb-'));
    try {
      const app = createHttpApp({
        store: new MemoryStatsStore(10),
        ready: async () => true,
        log,
        webRoot: empty,
      });
      const response = await app.request('/');
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: 'dashboard_not_built' });
      expect((await app.request('/stats')).status).toBe(200);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('CORS and store outages', () => {
  it('lets a page on another origin read /stats and answers its preflight', async () => {
    const app = createHttpApp({ store: new MemoryStatsStore(10), ready: async () => true, log, webRoot });
    const res = await app.request('/stats', { headers: { origin: 'https://example.org' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const preflight = await app.request('/stats', {
      method: 'OPTIONS',
      headers: { origin: 'https://example.org', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');
  });

  it('answers 503 with a JSON reason while the store is unreachable', async () => {
    const store = new MemoryStatsStore(10);
    store.read = async () => {
      throw new WikistreamError('STORE_UNAVAILABLE', 'no Cassandra host available', { retriable: true });
    };
    const app = createHttpApp({ store, ready: async () => false, log, webRoot });
    const res = await app.request('/stats');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'unavailable' });
  });
});

describe('HTTP rules: methods and repeated parameters', () => {
  const app = () => createHttpApp({ store: new MemoryStatsStore(10), ready: async () => true, log, webRoot });

  it.each([
    ['POST', '/stats'],
    ['DELETE', '/stats/users/Someone'],
    ['PUT', '/stats/pages'],
    ['PATCH', '/healthz'],
    ['POST', '/readyz'],
    ['POST', '/'],
    ['DELETE', '/assets/dashboard.js'],
  ])('%s %s is a 405 with Allow, not a 404', async (method, path) => {
    const response = await app().request(path, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(await response.json()).toMatchObject({ error: 'method_not_allowed' });
  });

  it('an unknown route stays a 404 whatever the method, and GET/HEAD still answer', async () => {
    expect((await app().request('/nowhere', { method: 'POST' })).status).toBe(404);
    expect((await app().request('/nowhere')).status).toBe(404);
    expect((await app().request('/stats')).status).toBe(200);
    expect((await app().request('/stats', { method: 'HEAD' })).status).toBe(200);
  });

  it.each([
    '/stats?limit=1&limit=2',
    '/stats?window=5m&window=5m',
    '/stats?domain=a.org&domain=b.org',
    '/stats/pages?limit=1&limit=1',
    '/stats/users/Someone?window=1m&window=2m',
  ])('a repeated parameter is a 400, not "first wins": %s', async (path) => {
    const response = await app().request(path);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe('bad_request');
    expect(body.message).toMatch(/^query parameter (limit|window|domain): must be given once$/);
  });

  it('accepts windows in hours up to 24h', async () => {
    for (const window of ['1h', '2h', '24h']) {
      const response = await app().request(`/stats?window=${window}`);
      expect(response.status, window).toBe(200);
    }
  });
});

describe('exploring: /stats?domain=, /stats/users/{name}, /stats/pages', () => {
  const events = exploreEvents();
  const tally = (list: readonly RecentChange[], key: (e: RecentChange) => string | undefined) => {
    const out = new Map<string, number>();
    for (const e of list) {
      const k = key(e);
      if (k !== undefined) out.set(k, (out.get(k) ?? 0) + 1);
    }
    return out;
  };
  const sorted = (m: Map<string, number>) => [...m].sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : 1));
  const rawObject = (entries: Array<[string, number]>) =>
    `{${entries.map(([k, n]) => `${JSON.stringify(k)}:${n}`).join(',')}}`;
  const open = async () =>
    createHttpApp({ store: await storeWith(events), ready: async () => true, log, webRoot });

  it('one wiki: its total, users (in order), types, bots, bytes, all time and in a window', async () => {
    const app = await open();
    const domain = sorted(tally(events, (e) => e.meta.domain))[0]?.[0] as string;
    const mine = events.filter((e) => e.meta.domain === domain);
    const response = await app.request(`/stats?domain=${encodeURIComponent(domain)}&limit=3`);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const raw = await response.text();
    const body = JSON.parse(raw) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'domain',
      'total',
      'by_user',
      'by_type',
      'bots',
      'bytes',
      'users',
      'last_event_at',
      'limit',
    ]);
    const users = tally(mine, (e) => e.user);
    const bots = mine.filter((e) => e.bot === true).length;
    expect(body).toMatchObject({
      domain,
      total: mine.length,
      bots: { bot: bots, human: mine.length - bots },
      users: users.size,
      by_type: Object.fromEntries(tally(mine, (e) => e.type ?? 'unknown')),
      limit: 3,
    });
    expect(raw).toContain(`"by_user":${rawObject(sorted(users).slice(0, 3))}`);

    const windowed = (await (await app.request(`/stats?domain=${domain}&window=1h`)).json()) as {
      total: number;
      window: { minutes: number };
      per_minute: Array<{ total: number }>;
    };
    expect(windowed.window.minutes).toBe(60);
    expect(windowed.per_minute).toHaveLength(60);
    expect(windowed.per_minute.reduce((sum, m) => sum + m.total, 0)).toBe(windowed.total);
    expect(windowed.total).toBeLessThan(mine.length); // the events span three hours

    const unknown = await app.request('/stats?domain=never.example.org');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: 'not_found',
      message: 'no events for domain never.example.org',
    });
  });

  it('one user, any name: "__proto__", "a/b" (encoded or not), "1234"; 404 JSON for an unknown one', async () => {
    const app = await open();
    for (const name of ['__proto__', 'a/b', '1234']) {
      const theirs = events.filter((e) => e.user === name);
      expect(theirs.length, name).toBeGreaterThan(0);
      const response = await app.request(`/stats/users/${encodeURIComponent(name)}`);
      expect(response.status, name).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual([
        'user',
        'total',
        'by_domain',
        'by_type',
        'bot',
        'bytes',
        'first_seen',
        'last_seen',
        'limit',
      ]);
      const times = theirs.map((e) => Date.parse(e.meta.dt));
      expect(body).toMatchObject({
        user: name,
        total: theirs.length,
        bot: theirs.some((e) => e.bot === true),
        first_seen: new Date(Math.min(...times)).toISOString(),
        last_seen: new Date(Math.max(...times)).toISOString(),
      });
      expect(body.by_domain).toEqual(Object.fromEntries(tally(theirs, (e) => e.meta.domain)));
    }
    expect(await (await app.request('/stats/users/a/b')).json()).toMatchObject({ user: 'a/b' });
    const windowed = await (await app.request('/stats/users/__proto__?window=24h&limit=1')).json();
    expect(windowed).toMatchObject({ user: '__proto__', limit: 1, window: { minutes: 1440 } });

    const unknown = await app.request('/stats/users/constructor');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'not_found', message: 'no events for user constructor' });
    expect((await app.request('/stats/users/%E0%A4%A')).status).toBe(400);
    expect((await app.request('/stats/users/x?domain=a.org')).status).toBe(400);
  });

  it('/stats ranks "1234" by its count, not first, and has bytes for the same keys in the same order', async () => {
    const app = await open();
    const raw = await (await app.request('/stats?limit=all')).text();
    const users = sorted(tally(events, (e) => e.user));
    expect(raw).toContain(`"by_user":${rawObject(users)}`);
    const body = JSON.parse(raw) as { bytes_by_user: Record<string, unknown>; bytes_by_domain: object };
    const bytesKeys = [
      ...raw.slice(raw.indexOf('"bytes_by_user"')).matchAll(/"((?:[^"\\]|\\.)*)":\{"added"/g),
    ].map((m) => JSON.parse(`"${m[1]}"`) as string);
    expect(bytesKeys).toEqual(users.map(([u]) => u));
    expect(Object.keys(body.bytes_by_domain)).toHaveLength(tally(events, (e) => e.meta.domain).size);
  });

  it('trending pages: the last hour by default, exact, with links, limit and domain', async () => {
    const app = await open();
    const minuteOf = (e: RecentChange) => Math.floor(Date.parse(e.meta.dt) / MINUTE_MS);
    const newest = Math.max(...events.map(minuteOf));
    const inside = events.filter((e) => minuteOf(e) > newest - 60);
    const pages = tally(inside, (e) => JSON.stringify([e.meta.domain, e.title]));
    const body = (await (await app.request('/stats/pages?limit=all')).json()) as {
      window: { minutes: number; from: string; to: string };
      pages: Array<{ domain: string; title: string; url: string; edits: number }>;
      limit: string;
    };
    expect(body.window).toEqual({
      minutes: 60,
      from: new Date((newest - 59) * MINUTE_MS).toISOString(),
      to: new Date((newest + 1) * MINUTE_MS).toISOString(),
    });
    expect(new Map(body.pages.map((p) => [JSON.stringify([p.domain, p.title]), p.edits]))).toEqual(pages);
    // The recorded events' meta.uri is the page's own link, except for log entries.
    const uris = new Map<string, string>();
    for (const line of readRecordedEvents([SHARED_EVENTS_DIR])) {
      const raw = JSON.parse(line) as { type: string; title: string; meta: { domain: string; uri: string } };
      if (raw.type !== 'log') uris.set(JSON.stringify([raw.meta.domain, raw.title]), raw.meta.uri);
    }
    let checked = 0;
    for (const page of body.pages) {
      const uri = uris.get(JSON.stringify([page.domain, page.title]));
      if (uri === undefined) continue;
      expect(page.url).toBe(uri);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
    const top = (await (await app.request('/stats/pages?limit=2')).json()) as typeof body;
    expect(top.pages).toEqual(body.pages.slice(0, 2));
    const wiki = body.pages[0]?.domain as string;
    const one = (await (await app.request(`/stats/pages?window=24h&domain=${wiki}`)).json()) as typeof body;
    expect(one.pages.every((p) => p.domain === wiki)).toBe(true);
    expect(one.pages.reduce((sum, p) => sum + p.edits, 0)).toBe(
      events.filter((e) => e.meta.domain === wiki && e.title !== undefined).length,
    );
    const defaults = (await (await app.request('/stats/pages')).json()) as typeof body;
    expect(defaults).toMatchObject({ limit: 100 });
    expect((await app.request('/stats/pages?window=all')).status).toBe(400);
    expect((await app.request('/stats/pages?user=x')).status).toBe(400);
  });

  it('answers 501 for a store without the drill-down queries', async () => {
    const memory = new MemoryStatsStore(10);
    const store: StatsStore = {
      position: (p) => memory.position(p),
      apply: (plan) => memory.apply(plan),
      release: () => {},
      read: (limit) => memory.read(limit),
      ping: async () => {},
      close: async () => {},
    };
    const app = createHttpApp({ store, ready: async () => true, log, webRoot });
    for (const path of ['/stats?domain=a.org', '/stats/users/x', '/stats/pages']) {
      expect((await app.request(path)).status, path).toBe(501);
    }
  });
});
