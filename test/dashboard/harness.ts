import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { loadConfig } from '../../internal/config/config.js';
import { EmbeddedPipeline } from '../../internal/embedded/embedded-pipeline.js';
import { createHttpApp } from '../../internal/http/app.js';
import { startHttpServer } from '../../internal/http/server.js';
import { createLogger } from '../../internal/log/logger.js';
import { createMetrics, type Metrics } from '../../internal/metrics/metrics.js';
import { type ReplayOptions, ReplayServer } from '../../internal/replay/replay-server.js';
import { MemoryStatsStore } from '../../internal/store/memory-store.js';

/** The recorded events, beside the repo as CI clones it (`shared/` next to the checkout). */
export const RECORDED_DIR = join(process.cwd(), '..', 'shared', 'data', 'recentchange');

/** Builds the dashboard with the real build script into a temporary folder, removed after the test. */
export function buildDashboard(): string {
  const out = mkdtempSync(join(tmpdir(), 'wikistream-web-'));
  onTestFinished(() => rmSync(out, { recursive: true, force: true }));
  execFileSync(process.execPath, ['scripts/build-web.mjs', '--out', out], { stdio: 'pipe' });
  return out;
}

export interface RunningPipeline {
  /** Base URL of the HTTP server (`/`, `/stats`, `/metrics`). */
  readonly baseUrl: string;
  readonly replay: ReplayServer;
  readonly pipeline: EmbeddedPipeline;
  readonly metrics: Metrics;
  readonly store: MemoryStatsStore;
}

/**
 * replay server -> embedded pipeline (SSE source, stats, memory store) -> HTTP server with the
 * dashboard and `/metrics`, on ephemeral ports; all of it closed when the test finishes.
 */
export async function startPipeline(
  replayOptions: ReplayOptions,
  options: { webRoot: string; beforeStart?: (replay: ReplayServer) => void },
): Promise<RunningPipeline> {
  const replay = new ReplayServer(replayOptions);
  const url = await replay.listen();
  onTestFinished(() => replay.close());
  options.beforeStart?.(replay);

  const dataDir = mkdtempSync(join(tmpdir(), 'wikistream-data-'));
  onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({
    WIKIPEDIA_STREAM_URL: url,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    SSE_RECONNECT_MIN_MS: '10',
    SSE_RECONNECT_MAX_MS: '50',
    SSE_IDLE_TIMEOUT_MS: '30000',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
  });
  const log = createLogger({ level: 'silent' });
  const metrics = createMetrics();
  const store = new MemoryStatsStore(config.dedupWindow);
  const pipeline = new EmbeddedPipeline(config, store, log, metrics);
  await pipeline.start();
  onTestFinished(() => pipeline.stop());
  const app = createHttpApp({
    store,
    ready: async () => true,
    log,
    metrics: metrics.registry,
    webRoot: options.webRoot,
  });
  const server = await startHttpServer(app, config.http.host, config.http.port);
  onTestFinished(() => server.close());
  return { baseUrl: `http://127.0.0.1:${server.port}`, replay, pipeline, metrics, store };
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as T;
}
