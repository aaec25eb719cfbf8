import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Scrape } from '../../internal/metrics/testing/scrape.js';
import { listeningPort, startChild } from '../support/child-process.js';
import { expectedCounts } from '../support/expected-counts.js';
import {
  TEST_EVENTS as EVENTS,
  TEST_EXPECTED as EXPECTED,
  expectExact,
  fetchStats,
  REAL_EVENTS as REAL,
  settledStats,
  startReplay,
  statsReaching,
  tempDataDir,
} from '../support/pipeline.js';
import { waitFor } from '../support/wait-for.js';

async function startEmbedded(url: string, dataDir: string, extra: Record<string, string> = {}) {
  const child = startChild('cmd/embedded/main.ts', {
    WIKIPEDIA_STREAM_URL: url,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATA_DIR: dataDir,
    CHECKPOINT_INTERVAL_MS: '200',
    SSE_RECONNECT_MIN_MS: '20',
    SSE_RECONNECT_MAX_MS: '200',
    ...extra,
  });
  const port = await listeningPort(child);
  return { child, port, stats: () => fetchStats(port) };
}

describe('embedded pipeline on the recorded Wikimedia events', () => {
  it('counts exactly what an independent count of the files gives (canaries out, duplicates once)', async () => {
    expect(EXPECTED.total).toBe(REAL.length); // the recordings hold no canaries and no duplicates
    const ids = EVENTS.map((line) => JSON.parse(line).meta.id as string);
    expect(ids.length - new Set(ids).size).toBeGreaterThan(2); // the test added duplicates
    expect(EVENTS.filter((line) => line.includes('"domain":"canary"')).length).toBeGreaterThan(2);
    const { replay, url } = await startReplay();
    const { child, port } = await startEmbedded(url, tempDataDir());
    const body = await statsReaching(port, child, EXPECTED.total);
    expectExact(body, EXPECTED);
    expect(body.rejected).toBe(0);
    // Wikimedia's User-Agent policy: name, version, contact, library.
    expect(replay.connections[0]?.userAgent).toMatch(
      /^wikistream\/\d+\.\d+\.\d+ \(.+\) eventsource\/\d+\.\d+\.\d+$/,
    );
  });

  it('stays exact when the server drops the connection every 500 events', async () => {
    const { replay, url } = await startReplay({ dropEvery: 500 });
    const { child, port } = await startEmbedded(url, tempDataDir());
    const body = await statsReaching(port, child, EXPECTED.total);
    expectExact(body, EXPECTED);
    const reconnects = replay.connections.slice(1);
    expect(reconnects.length).toBeGreaterThanOrEqual(Math.floor(EVENTS.length / 500));
    // Every reconnect resumed after the last handled event.
    for (const c of reconnects) expect(c.lastEventId).toMatch(/"offset":\d+/);
  });

  it('backs off through three 503 answers, then resumes with exact counts', async () => {
    const { replay, url } = await startReplay();
    replay.failNext(3);
    const { child, port } = await startEmbedded(url, tempDataDir());
    const body = await statsReaching(port, child, EXPECTED.total);
    expectExact(body, EXPECTED);
    expect(replay.connections.map((c) => c.status).slice(0, 4)).toEqual([503, 503, 503, 200]);
    expect(child.output()).toContain('source disconnected; reconnecting');
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`resumes from its checkpoint after ${signal} halfway; final counts exact`, async () => {
      const { replay, url } = await startReplay({ ratePerSec: 1_500 });
      const dataDir = tempDataDir();
      const first = await startEmbedded(url, dataDir);
      await statsReaching(first.port, first.child, Math.floor(EXPECTED.total / 2));
      // Kill only once a checkpoint past the first quarter is on disk: under load a write (two
      // fsyncs) can lag far behind the counts, and the test is about resuming, not about fsync speed.
      const checkpointPath = join(dataDir, 'embedded-checkpoint.json');
      const savedOffset = () => {
        try {
          const saved = JSON.parse(readFileSync(checkpointPath, 'utf8')) as { cursor: string | null };
          return Number(/"offset":(\d+)/.exec(saved.cursor ?? '')?.[1] ?? -1);
        } catch {
          return -1;
        }
      };
      await waitFor(() => savedOffset() > EVENTS.length / 4, {
        message: 'a checkpoint past the first quarter',
      });
      first.child.process.kill(signal);
      expect(await first.child.exited).toBe(signal === 'SIGTERM' ? 0 : 'SIGKILL');
      const connectionsBefore = replay.connections.length;
      const cursorOnDisk = (JSON.parse(readFileSync(checkpointPath, 'utf8')) as { cursor: string }).cursor;

      const second = await startEmbedded(url, dataDir);
      const body = await statsReaching(second.port, second.child, EXPECTED.total);
      expectExact(body, EXPECTED);
      // It resumed from the checkpoint's cursor rather than from the beginning.
      expect(replay.connections[connectionsBefore]?.lastEventId).toBe(cursorOnDisk);
      // And it did not count anything twice after the restart, once it is idle.
      expectExact(await settledStats(second.port), EXPECTED);
    });
  }

  it('counts malformed events as rejected and the rest exactly', async () => {
    const base = REAL.slice(0, 600);
    const huge = JSON.parse(base[0] as string);
    huge.meta.id = 'huge-event';
    huge.comment = 'x'.repeat(1024 * 1024);
    const wrongTypes = JSON.parse(base[1] as string);
    wrongTypes.meta.id = 12345;
    const malformed = [
      '{"meta": {"id": "broken"', // bad JSON
      JSON.stringify({ type: 'edit', user: 'NoMeta', title: 'x' }), // missing meta
      JSON.stringify(wrongTypes), // wrong type of a required field
      JSON.stringify(huge), // a 1 MB line
      'not json at all',
    ];
    const events = [
      ...base.slice(0, 200),
      ...malformed.slice(0, 3),
      ...base.slice(200),
      ...malformed.slice(3),
    ];
    const { url } = await startReplay({ events });
    const { child, stats } = await startEmbedded(url, tempDataDir());
    const body = await waitFor(
      async () => {
        const s = await stats();
        return s.total + s.rejected >= events.length ? s : undefined;
      },
      { message: 'every event counted or rejected', timeoutMs: 60_000 },
    );
    expect(body.rejected).toBe(malformed.length);
    expectExact(body, expectedCounts(base));
    expect(child.output()).toContain('invalid event rejected');
    expect(child.process.exitCode).toBeNull();
  });

  it('reconnects when the stream goes silent (watchdog)', async () => {
    const { replay, url } = await startReplay({ ratePerSec: 2_000 });
    const { child, port } = await startEmbedded(url, tempDataDir(), { SSE_IDLE_TIMEOUT_MS: '1000' });
    await statsReaching(port, child, 500);
    replay.stall(true);
    const connections = replay.connections.length;
    await waitFor(() => replay.connections.length > connections, {
      timeoutMs: 10_000,
      message: 'a reconnect after the idle timeout',
    });
    replay.stall(false);
    const body = await statsReaching(port, child, EXPECTED.total);
    expectExact(body, EXPECTED);
    expect(child.output()).toContain('source idle for too long; reconnecting');
  });

  it('ignores an unusable cursor saved by an older version, with a warning, and ingests', async () => {
    const { replay, url } = await startReplay();
    const dataDir = tempDataDir();
    const emptyStats = {
      total: 0,
      rejected: 0,
      bots: 0,
      humans: 0,
      lastEventMs: 0,
      byDomain: [],
      byUser: [],
      byType: [],
    };
    writeFileSync(
      join(dataDir, 'embedded-checkpoint.json'),
      JSON.stringify({
        version: 1,
        url,
        cursor: '[{"offset":1,"note":"\u{1F600}"}]',
        store: { stats: emptyStats, partitions: [] },
      }),
    );
    const { child, port } = await startEmbedded(url, dataDir);
    const body = await statsReaching(port, child, EXPECTED.total);
    expectExact(body, EXPECTED);
    expect(replay.connections[0]?.lastEventId).toBeUndefined();
    expect(child.output()).toContain('saved cursor cannot be sent as Last-Event-ID; ignored');
  });

  it('is not ready while DATA_DIR cannot be written, says so in /metrics, and recovers', async () => {
    const { url } = await startReplay({ ratePerSec: 500, loop: true });
    const dataDir = tempDataDir();
    const { child, port } = await startEmbedded(url, dataDir);
    const readyz = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
    const scrape = async () => new Scrape(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    await statsReaching(port, child, 200);
    expect(await readyz()).toBe(200);
    expect((await scrape()).value('wikistream_checkpoint_writable')).toBe(1);

    // Root ignores permissions, so make the directory unusable for anyone: a file in its place.
    rmSync(dataDir, { recursive: true, force: true });
    writeFileSync(dataDir, 'no longer a directory');
    await waitFor(async () => (await readyz()) === 503, {
      message: '/readyz to turn 503',
      timeoutMs: 20_000,
    });
    await waitFor(async () => (await scrape()).value('wikistream_checkpoint_write_failures_total') >= 3, {
      message: 'several failed checkpoint writes counted',
      timeoutMs: 20_000,
    });
    expect((await scrape()).value('wikistream_checkpoint_writable')).toBe(0);
    // Logged once for the outage, not once per interval.
    expect(child.output().split('checkpoint write failed').length - 1).toBe(1);

    rmSync(dataDir, { force: true });
    mkdirSync(dataDir);
    await waitFor(async () => (await readyz()) === 200, {
      message: '/readyz back to 200',
      timeoutMs: 20_000,
    });
    expect(child.output()).toContain('checkpoint writes work again');
    expect(child.process.exitCode).toBeNull();
  });
});
