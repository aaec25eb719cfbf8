// Embedded pipeline throughput: SSE bytes -> eventsource parser -> zod validation -> dedup ->
// aggregate -> memory store, in one process, against the raw in-process limit
// (JSON.parse + two Map increments of the same lines in a tight loop).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { pino } from 'pino';
import { loadConfig } from '../internal/config/config.js';
import { EmbeddedPipeline } from '../internal/embedded/embedded-pipeline.js';
import { deriveEvents, readRecordedEvents } from '../internal/replay/recorded-events.js';
import { MemoryStatsStore } from '../internal/store/memory-store.js';
import { fmt, median, rawLimit, SHARED_EVENTS_DIR, startReplayChild, stopChild } from './support.js';

const EVENTS = 100_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** The ceiling the mandated client sets: `eventsource` (fetch, SSE parser, event dispatch) + JSON.parse. */
async function eventsourceRun(): Promise<number> {
  const { child, match } = await startReplayChild(EVENTS);
  try {
    const start = performance.now();
    await new Promise<void>((resolve) => {
      let n = 0;
      const es = new EventSource(match[1] as string);
      es.onmessage = (message) => {
        JSON.parse(message.data);
        if (++n >= EVENTS) {
          es.close();
          resolve();
        }
      };
    });
    return EVENTS / ((performance.now() - start) / 1000);
  } finally {
    await stopChild(child);
  }
}

async function pipelineRun(): Promise<number> {
  const { child, match } = await startReplayChild(EVENTS);
  const dataDir = mkdtempSync(join(tmpdir(), 'wikistream-bench-'));
  try {
    const config = loadConfig({
      WIKIPEDIA_STREAM_URL: match[1] as string,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
    });
    const store = new MemoryStatsStore(config.dedupWindow);
    const pipeline = new EmbeddedPipeline(config, store, pino({ level: 'silent' }));
    const start = performance.now();
    await pipeline.start();
    for (;;) {
      if ((await store.read(1)).total >= EVENTS) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const seconds = (performance.now() - start) / 1000;
    await pipeline.stop();
    return EVENTS / seconds;
  } finally {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export default async function bench() {
  const lines = deriveEvents(readRecordedEvents([SHARED_EVENTS_DIR]), EVENTS);
  rawLimit(lines); // warm-up
  const raw: number[] = [];
  const pipeline: number[] = [];
  const client: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    raw.push(rawLimit(lines));
    client.push(await eventsourceRun());
    pipeline.push(await pipelineRun());
  }
  const ratio = median(pipeline) / median(raw);
  const ceiling = median(client) / median(raw);
  return {
    title: 'Embedded pipeline throughput (issue 2)',
    markdown: `${fmt(EVENTS)} events (the 4,122 recorded ones, then copies with fresh \`meta.id\`s) served by the replay
server in a child process over loopback SSE; the pipeline (eventsource parser, zod validation, canary filter,
dedup window, aggregation, memory store, checkpoint timer) runs in this process. Raw limit: \`JSON.parse\` plus
two \`Map\` increments of the same lines in a tight loop. ${RUNS} runs each, interleaved; medians.

| measure | events/s (median) | runs |
|---|---:|---|
| raw limit (JSON.parse + 2 Map increments) | ${fmt(median(raw))} | ${raw.map(fmt).join(', ')} |
| \`eventsource\` client + JSON.parse, no-op handler (the client's ceiling) | ${fmt(median(client))} | ${client.map(fmt).join(', ')} |
| embedded pipeline, SSE to store | ${fmt(median(pipeline))} | ${pipeline.map(fmt).join(', ')} |
| **pipeline / raw** | **${(ratio * 100).toFixed(0)}%** | target >= 50% |
| client ceiling / raw | ${(ceiling * 100).toFixed(0)}% | |
| pipeline / client ceiling | ${((median(pipeline) / median(client)) * 100).toFixed(0)}% | |

The mandated \`eventsource\` package (undici fetch, web streams, its SSE parser, one DOM-style MessageEvent per
event) costs about as much as JSON.parse itself, so the client alone stays under the 50% target; the pipeline's
own work (zod, dedup, aggregation, leaderboards, minute buckets) is the rest. The live stream runs at ~50
events/s, several hundred times below either figure.
`,
  };
}
