// The cost of applying a batch to the memory store (`MemoryStatsStore.apply`: the ledger, then
// `StatsAggregate.apply`: all-time counts, minute buckets and their running sums), per event, in
// one process: the part of the consumer's per-record cost that the stats model sets. Events: the
// recorded ones, then copies with fresh `meta.id`s, re-stamped at 50 events/s (the live rate) so
// minutes fill and leave the last hour as they do live.
import { deriveEvents, readRecordedEvents } from '../internal/replay/recorded-events.js';
import { type BatchPlan, planBatch } from '../internal/stats/batch-plan.js';
import { MemoryStatsStore } from '../internal/store/memory-store.js';
import { parseRecentChange, type RecentChange } from '../internal/wikimedia/event-schema.js';
import { fmt, median, SHARED_EVENTS_DIR } from './support.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Records per batch: what the consumer's eachBatch hands over at full speed, about. */
const BATCH = 500;
const EVENTS_PER_S = 50;

interface BenchResult {
  readonly title: string;
  readonly markdown: string;
}

function events(): RecentChange[] {
  const start = Date.now() - (EVENTS / EVENTS_PER_S) * 1000;
  return deriveEvents(readRecordedEvents([SHARED_EVENTS_DIR]), EVENTS).map((line, i) => {
    const parsed = parseRecentChange(line, 1 << 20);
    if (!parsed.ok) throw new Error(`recorded event does not parse: ${parsed.detail}`);
    parsed.event.meta.dt = new Date(start + (i * 1000) / EVENTS_PER_S).toISOString();
    return parsed.event;
  });
}

/** CPU time of this process, ms: on a shared machine, wall time mostly measures the others. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Plans every batch first, then applies them: CPU ns per event of each. */
async function run(all: readonly RecentChange[]): Promise<{ planNs: number; applyNs: number }> {
  const store = new MemoryStatsStore(20_000);
  const partition = { topic: 'wikipedia.changes', partition: 0 };
  const plans: BatchPlan[] = [];
  const planned = cpuMs();
  let position = await store.position(partition);
  for (let from = 0; from < all.length; from += BATCH) {
    const records = all.slice(from, from + BATCH).map((event, i) => ({ offset: from + i, event }));
    const plan = planBatch(partition, position, records, from + records.length);
    plans.push(plan);
    position = { nextOffset: plan.nextOffset, hasSeen: () => false }; // every id is fresh
  }
  const planNs = ((cpuMs() - planned) * 1e6) / all.length;
  const applied = cpuMs();
  for (const plan of plans) {
    if ((await store.apply(plan)) !== 'applied') throw new Error('a plan was not applied');
  }
  const applyNs = ((cpuMs() - applied) * 1e6) / all.length;
  const view = await store.read(1);
  if (view.total !== all.length) throw new Error(`applied ${view.total} of ${all.length} events`);
  return { planNs, applyNs };
}

export default async function bench(): Promise<BenchResult> {
  const all = events();
  await run(all.slice(0, 20_000)); // warm-up: JIT
  const runs: Array<{ planNs: number; applyNs: number }> = [];
  for (let i = 0; i < RUNS; i++) runs.push(await run(all));
  const apply = runs.map((r) => r.applyNs);
  const plan = runs.map((r) => r.planNs);
  const list = (values: number[]) => values.map(fmt).join(', ');
  const markdown = [
    `${fmt(EVENTS)} events (the recorded ones, then copies with fresh \`meta.id\`s, re-stamped at`,
    `${EVENTS_PER_S} events/s, so ${fmt(EVENTS / EVENTS_PER_S / 60)} minutes of event time), planned in batches of ${BATCH}`,
    '(`planBatch`: dedup, `StatsDelta`), then applied to a fresh `MemoryStatsStore` (ledger, all-time counts,',
    `minute buckets, running sums), in one process; ${RUNS} runs after a warm-up, medians. CPU time of the`,
    'process (user + system, GC included), not wall time: the machine is shared.',
    '',
    '| measure | CPU ns/event (median) | runs |',
    '| --- | ---: | --- |',
    `| \`MemoryStatsStore.apply\` | ${fmt(median(apply))} | ${list(apply)} |`,
    `| \`planBatch\` (for scale) | ${fmt(median(plan))} | ${list(plan)} |`,
  ].join('\n');
  return { title: 'Applying a batch to the memory store (per event)', markdown };
}
