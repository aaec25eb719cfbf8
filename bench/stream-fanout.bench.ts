// /stats/stream fan-out (issue 12): the embedded pipeline's throughput and /stats latency with no
// stream client, and with 1,000 connected, in the same run, interleaved. The clients and the
// /stats prober are child processes (bench/stream-fanout-client.ts): only the server's work is
// on this process's event loop, as in production.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../internal/config/config.js';
import { EmbeddedPipeline } from '../internal/embedded/embedded-pipeline.js';
import { createHttpApp } from '../internal/http/app.js';
import { startHttpServer } from '../internal/http/server.js';
import { MemoryStatsStore } from '../internal/store/memory-store.js';
import { fmt, median, startChild, startReplayChild, stopChild } from './support.js';

const EVENTS = Number(process.env.BENCH_FANOUT_EVENTS ?? 150_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CLIENTS = 1_000;

interface RunResult {
  readonly eventsPerSec: number;
  readonly latencies: readonly number[];
  readonly messages: number;
  readonly seconds: number;
}

/** SIGTERM to a fanout child, and the JSON of the RESULT line it prints before it exits. */
async function resultOf<T>(child: ChildProcess): Promise<T> {
  let out = '';
  child.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  await stopChild(child);
  const line = /RESULT (\{.*\})/.exec(out);
  if (!line) throw new Error(`fan-out child printed no RESULT: ${out.slice(0, 200)}`);
  return JSON.parse(line[1] as string) as T;
}

async function run(clients: number): Promise<RunResult> {
  const replay = await startReplayChild(EVENTS);
  const dataDir = mkdtempSync(join(tmpdir(), 'wikistream-bench-'));
  const children: ChildProcess[] = [replay.child];
  try {
    const config = loadConfig({
      WIKIPEDIA_STREAM_URL: replay.match[1] as string,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      STREAM_MAX_CLIENTS: String(CLIENTS),
    });
    const log = pino({ level: 'silent' });
    const store = new MemoryStatsStore(config.dedupWindow);
    const pipeline = new EmbeddedPipeline(config, store, log);
    const app = createHttpApp({
      store,
      ready: async () => true,
      log,
      streamMaxClients: config.stream.maxClients,
    });
    const server = await startHttpServer(app, '127.0.0.1', 0);
    const base = `http://127.0.0.1:${server.port}`;
    try {
      const streams =
        clients > 0
          ? await startChild(
              ['bench/stream-fanout-client.ts', 'clients', base, String(clients)],
              /READY (\d+)/,
            )
          : undefined;
      if (streams) children.push(streams.child);
      const prober = await startChild(['bench/stream-fanout-client.ts', 'prober', base], /READY/);
      children.push(prober.child);

      const start = performance.now();
      await pipeline.start();
      for (;;) {
        if ((await store.read(1)).total >= EVENTS) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const seconds = (performance.now() - start) / 1000;
      const { latencies } = await resultOf<{ latencies: number[] }>(prober.child);
      const fanned = streams ? await resultOf<{ messages: number }>(streams.child) : { messages: 0 };
      await pipeline.stop();
      return { eventsPerSec: EVENTS / seconds, latencies, messages: fanned.messages, seconds };
    } finally {
      await server.close();
    }
  } finally {
    for (const child of children) await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export default async function bench() {
  const none: RunResult[] = [];
  const many: RunResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    none.push(await run(0));
    many.push(await run(CLIENTS));
  }
  const throughput = (runs: RunResult[]) => median(runs.map((r) => r.eventsPerSec));
  const p50 = (runs: RunResult[]) => median(runs.map((r) => median(r.latencies)));
  const p99 = (runs: RunResult[]) => median(runs.map((r) => percentile(r.latencies, 99)));
  const ratio = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}%`;
  const ms = (n: number) => n.toFixed(2);
  // Views after the first (sent on connect), per client and second of ingestion.
  const perClient = median(many.map((r) => (r.messages - CLIENTS) / CLIENTS / r.seconds));
  return {
    title: 'Live stream fan-out (issue 12)',
    markdown: `The embedded pipeline ingests ${fmt(EVENTS)} events (recorded, then copies with fresh \`meta.id\`s) from the
replay server in a child process, while a prober child sends \`GET /stats?limit=10\` one at a time (20 a second),
with no \`/stats/stream\` client and with ${fmt(CLIENTS)} connected (\`?limit=10\`, the dashboard's query; read by
another child). Each tick (1 s) the stream renders that query once and writes the changed view to every client.
${RUNS} runs of each, interleaved; medians over runs (latency: each run's median and p99, then the median of those).

| measure | no stream client | ${fmt(CLIENTS)} stream clients | with / without | runs (without; with) |
|---|---:|---:|---:|---|
| pipeline events/s | ${fmt(throughput(none))} | ${fmt(throughput(many))} | ${ratio(throughput(many), throughput(none))} | ${none.map((r) => fmt(r.eventsPerSec)).join(', ')}; ${many.map((r) => fmt(r.eventsPerSec)).join(', ')} |
| \`/stats\` latency p50, ms | ${ms(p50(none))} | ${ms(p50(many))} | ${ratio(p50(many), p50(none))} | ${none.map((r) => ms(median(r.latencies))).join(', ')}; ${many.map((r) => ms(median(r.latencies))).join(', ')} |
| \`/stats\` latency p99, ms | ${ms(p99(none))} | ${ms(p99(many))} | ${ratio(p99(many), p99(none))} | ${none.map((r) => ms(percentile(r.latencies, 99))).join(', ')}; ${many.map((r) => ms(percentile(r.latencies, 99))).join(', ')} |

Target: with ${fmt(CLIENTS)} clients, throughput and latency within 10% of none. During ingestion each client
received ${perClient.toFixed(2)} changed views a second (at most 1 by design).
`,
  };
}
