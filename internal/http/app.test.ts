import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedRecording } from '../../test/support/paths.js';
import { WikistreamError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import { createMetrics } from '../metrics/metrics.js';
import { readRecordedEvents } from '../replay/recorded-events.js';
import { planBatch } from '../stats/batch-plan.js';
import { MINUTE_MS } from '../stats/minute-buckets.js';
import { MemoryStatsStore } from '../store/memory-store.js';
import type { StatsStore } from '../store/stats-store.js';
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
        '"domains":0,"users":0,"last_event_at":null,"limit":100}',
    );
  });

  it('answers an empty window before the first event', async () => {
    const app = createHttpApp({ store: new MemoryStatsStore(10), ready: async () => true, log, webRoot });
    const body = await (await app.request('/stats?window=15m')).json();
    expect(body).toMatchObject({ total: 0, window: { minutes: 15, from: null, to: null }, per_minute: [] });
  });

  it.each(['0m', '61m', '2h', '5', 'm', '5min', '-5m', '5M', '1.5m', '', ' 5m', '99999m'])(
    'rejects window=%j with a 400 JSON error',
    async (window) => {
      const app = createHttpApp({ store: new MemoryStatsStore(10), ready: async () => true, log, webRoot });
      const response = await app.request(`/stats?window=${encodeURIComponent(window)}`);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe('bad_request');
      expect(body.message).toMatch(/^query parameter window: must be minutes from 1m to 60m/);
    },
  );

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
