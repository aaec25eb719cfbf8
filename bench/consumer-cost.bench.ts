// Where the consumer's CPU goes per event (issue 11), step by step, in this process on the same
// real-derived events: what the bare kafkajs baseline does too (Buffer -> string, JSON.parse, two
// Map increments) and what only we do (zod validation, planning with dedup, applying to the memory
// store, the periodic checkpoint's snapshot + JSON). Each step is timed over the same batches,
// interleaved over rounds; medians. CPU-bound and single-threaded, so steadier than the process
// figures on a loaded machine.

import { deriveEvents, readRecordedEvents } from '../internal/replay/recorded-events.js';
import { type OffsetRecord, planBatch } from '../internal/stats/batch-plan.js';
import { MemoryStatsStore } from '../internal/store/memory-store.js';
import {
  parseRecentChange,
  recentChangeSchema,
  validRecentChange,
} from '../internal/wikimedia/event-schema.js';
import { fmt, median, SHARED_EVENTS_DIR } from './support.js';

const EVENTS = 100_000;
const BATCH = 500; // about what a fetch of one partition brings during a backfill
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MAX_BYTES = 524_288;

const lines = deriveEvents(readRecordedEvents([SHARED_EVENTS_DIR]), EVENTS);
const buffers = lines.map((line) => Buffer.from(line));

async function time(fn: () => void | Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return ((performance.now() - start) * 1000) / EVENTS; // µs per event
}

const steps = {
  toString: () => {
    for (const b of buffers) b.toString('utf8');
  },
  jsonParse: () => {
    for (const line of lines) JSON.parse(line);
  },
  bare: () => {
    const byDomain = new Map<string, number>();
    const byUser = new Map<string, number>();
    for (const b of buffers) {
      const event = JSON.parse(b.toString()) as { meta: { domain: string }; user: string };
      byDomain.set(event.meta.domain, (byDomain.get(event.meta.domain) ?? 0) + 1);
      byUser.set(event.user, (byUser.get(event.user) ?? 0) + 1);
    }
  },
  zodOnly: (() => {
    const parsed = lines.map((line) => JSON.parse(line) as unknown);
    return () => {
      for (const json of parsed) recentChangeSchema.safeParse(json);
    };
  })(),
  zodCompiled: (() => {
    const parsed = lines.map((line) => JSON.parse(line) as unknown);
    return () => {
      for (const json of parsed) validRecentChange.safeParse(json);
    };
  })(),
  parseRecentChange: () => {
    for (const b of buffers) parseRecentChange(b.toString('utf8'), MAX_BYTES);
  },
  planAndApply: (() => {
    const batches: OffsetRecord[][] = [];
    for (let i = 0; i < EVENTS; i += BATCH) {
      batches.push(
        lines.slice(i, i + BATCH).map((line, j) => {
          const r = parseRecentChange(line, MAX_BYTES);
          return { offset: i + j, event: r.ok ? r.event : undefined };
        }),
      );
    }
    return async () => {
      const store = new MemoryStatsStore(20_000);
      const partition = { topic: 't', partition: 0 };
      for (const [i, records] of batches.entries()) {
        const plan = planBatch(partition, await store.position(partition), records, (i + 1) * BATCH);
        await store.apply(plan);
      }
      lastStore = store;
    };
  })(),
};
let lastStore: MemoryStatsStore | undefined;

export default async function bench() {
  const results = new Map<string, number[]>();
  let checkpointMs: number[] = [];
  let checkpointBytes = 0;
  for (let run = 0; run < RUNS; run++) {
    for (const [name, fn] of Object.entries(steps))
      results.set(name, [...(results.get(name) ?? []), await time(fn)]);
    // The checkpoint of the store as it stands after 100,000 events (6 partitions would hold 6 windows).
    const start = performance.now();
    const text = JSON.stringify(lastStore?.snapshot());
    checkpointMs = [...checkpointMs, performance.now() - start];
    checkpointBytes = text.length;
  }
  const us = (name: string) => median(results.get(name) ?? []);
  const bare = us('bare');
  const ours = us('parseRecentChange') + us('planAndApply');
  const row = (what: string, value: number, note = '') =>
    `| ${what} | ${value.toFixed(2)} | ${((value / ours) * 100).toFixed(0)}% | ${note} |`;
  return {
    title: 'Consumer: CPU per event, step by step (issue 11)',
    markdown: `${fmt(EVENTS)} real-derived events as Kafka would hand them (Buffers), in this process, batches of ${BATCH}
into a fresh memory store (dedup window 20,000); ${RUNS} interleaved rounds, medians. Share = of our
per-event total (parse + validate + plan + apply).

| step | µs / event | share of ours | |
|---|---:|---:|---|
${row('Buffer -> string', us('toString'), 'bare does it too')}
${row('JSON.parse', us('jsonParse'), 'bare does it too')}
${row('**bare baseline work** (toString, JSON.parse, 2 Map increments)', bare, '')}
${row('zod `safeParse` of a parsed event, the schema walked (before)', us('zodOnly'), 'not in ours')}
${row('zod `safeParse` of a parsed event, compiled (`z.compile`, what we run)', us('zodCompiled'), 'ours only')}
${row('`parseRecentChange` (size check, toString, JSON.parse, compiled zod)', us('parseRecentChange'), '')}
${row('`planBatch` + `MemoryStatsStore.apply` (dedup, leaderboards, minute buckets, ledger)', us('planAndApply'), 'ours only')}
| **ours in all** | ${ours.toFixed(2)} | 100% | bare / ours = **${(bare / ours).toFixed(2)}** |

Checkpoint: \`JSON.stringify(store.snapshot())\` after these ${fmt(EVENTS)} events takes ${median(checkpointMs).toFixed(0)} ms
(${fmt(checkpointBytes / 1024)} KiB; one partition: the consumer holds a dedup window per partition), once per \`CHECKPOINT_INTERVAL_MS\`
(5 s) while events arrive: about ${((median(checkpointMs) / 5000) * 100).toFixed(1)}% of one core, paid on the event loop.
`,
  };
}
