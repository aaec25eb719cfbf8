import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { readRecordedEvents } from '../../internal/replay/recorded-events.js';
import { type ReplayOptions, ReplayServer } from '../../internal/replay/replay-server.js';
import type { RunningChild } from './child-process.js';
import { type ExpectedCounts, expectedCounts, withCanariesAndDuplicates } from './expected-counts.js';
import { SHARED_EVENTS_DIR } from './paths.js';
import { waitFor } from './wait-for.js';

/** The recorded events as the tests replay them: real ones plus canaries and duplicates. */
export const REAL_EVENTS = readRecordedEvents([SHARED_EVENTS_DIR]);
export const TEST_EVENTS = withCanariesAndDuplicates(REAL_EVENTS);
export const TEST_EXPECTED = expectedCounts(TEST_EVENTS);

export interface StatsBody {
  total: number;
  rejected: number;
  by_domain: Record<string, number>;
  by_user: Record<string, number>;
  by_type: Record<string, number>;
  bots: { bot: number; human: number };
}

export async function startReplay(options: Partial<ReplayOptions> = {}) {
  const replay = new ReplayServer({ events: TEST_EVENTS, heartbeatMs: 200, ...options });
  const url = await replay.listen();
  onTestFinished(() => replay.close());
  return { replay, url };
}

export function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wikistream-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function fetchStats(port: number): Promise<StatsBody> {
  const res = await fetch(`http://127.0.0.1:${port}/stats?limit=all`);
  if (!res.ok) throw new Error(`/stats answered ${res.status}`);
  return (await res.json()) as StatsBody;
}

export function expectExact(stats: StatsBody, expected: ExpectedCounts): void {
  expect(stats.total).toBe(expected.total);
  expect(stats.by_domain).toEqual(expected.byDomain);
  expect(stats.by_user).toEqual(expected.byUser);
  expect(stats.by_type).toEqual(expected.byType);
  expect(stats.bots).toEqual(expected.bots);
}

/** Waits until `/stats` reports at least `total` events; fails early if the process died. */
export async function statsReaching(port: number, child: RunningChild, total: number, timeoutMs = 45_000) {
  let last: StatsBody | undefined;
  try {
    return await waitFor(
      async () => {
        if (child.process.exitCode !== null) throw new Error(`process exited:\n${child.output()}`);
        last = await fetchStats(port);
        return last.total >= total ? last : undefined;
      },
      { timeoutMs, message: `/stats total to reach ${total}` },
    );
  } catch (err) {
    const tail = child.output().split('\n').slice(-25).join('\n');
    throw new Error(`${(err as Error).message}; last total ${last?.total}; log tail:\n${tail}`);
  }
}

/** Waits for quiet: the count stays the same for `quietMs` (nothing late, nothing twice). */
export async function settledStats(port: number, quietMs = 500): Promise<StatsBody> {
  let last = await fetchStats(port);
  return waitFor(
    async () => {
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      const now = await fetchStats(port);
      const same = now.total === last.total && now.rejected === last.rejected;
      last = now;
      return same ? now : undefined;
    },
    { timeoutMs: 30_000, message: '/stats to stop changing' },
  );
}
