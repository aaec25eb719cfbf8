// Kafka side as users run it (issue 11): the built binaries (`dist/cmd/*`) as processes on real
// sockets, each next to a bare kafkajs baseline of the same work, interleaved in one run:
//   - SSE: the replay server's own ceiling (a raw reader counting events, no parser);
//   - producer: bare kafkajs from a file vs replay server -> `cmd/producer`;
//   - consumer: bare kafkajs vs `cmd/consumer` (STORAGE=memory), same topic;
//   - catch-up of a backlog end to end: bare producer + bare consumer vs replay -> producer -> consumer;
//   - end-to-end latency at 100 events/s through the binaries.
// The broker is the test broker in a child process, or KAFKA_BENCH_BROKERS=host:port.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../internal/config/config.js';
import {
  admin,
  type BenchBroker,
  binaryEnv,
  consumerEnv,
  createTopic,
  startBroker,
  statsTotal,
  writeEventsFile,
} from './kafka-setup.js';
import {
  cpuSeconds,
  dist,
  spawnNode,
  startArgs,
  stop,
  type ThreadKind,
  threadCpuSeconds,
  type Watched,
} from './processes.js';
import { fmt, median, percentile, replayArgs, SHARED_EVENTS_DIR } from './support.js';

const EVENTS = Number(process.env.BENCH_KAFKA_EVENTS ?? 200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
const CONCURRENCY = loadConfig({}).kafka.consumerConcurrency;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One measured run: events/s, and CPU seconds of the measured process and of the broker. */
interface Run {
  rate: number;
  cpu: number;
  /** `cpu` by kind of thread (see threadCpuSeconds). */
  threads: Partial<Record<ThreadKind, number>>;
  brokerCpu: number;
  seconds: number;
}

const THREAD_KINDS: readonly ThreadKind[] = ['main', 'worker', 'gc', 'libuv', 'other'];

interface Ctx {
  broker: BenchBroker;
  dir: string;
  file: string;
  round: number;
}

/**
 * Times `body` from when it reports its start to when it resolves, with CPU of `watched()` and the
 * broker. `started(done)` may say how many events were already done then; they do not count.
 */
async function measured(
  ctx: Ctx,
  watched: () => Array<Watched | undefined>,
  body: (started: (done?: number) => void) => Promise<void>,
): Promise<Run> {
  let start = 0;
  let cpu0 = 0;
  let broker0 = 0;
  let doneAtStart = 0;
  let threads0: Partial<Record<ThreadKind, number>> = {};
  const cpuNow = () => watched().reduce((sum, w) => sum + cpuSeconds(w?.child.pid), 0);
  const threadsNow = () => {
    const sum: Partial<Record<ThreadKind, number>> = {};
    for (const w of watched()) {
      for (const [kind, s] of Object.entries(threadCpuSeconds(w?.child.pid)) as [ThreadKind, number][]) {
        sum[kind] = (sum[kind] ?? 0) + s;
      }
    }
    return sum;
  };
  await body((done = 0) => {
    doneAtStart = done;
    start = performance.now();
    cpu0 = cpuNow();
    threads0 = threadsNow();
    broker0 = cpuSeconds(ctx.broker.watched?.child.pid);
  });
  const seconds = (performance.now() - start) / 1000;
  const threads1 = threadsNow();
  return {
    rate: (EVENTS - doneAtStart) / seconds,
    cpu: cpuNow() - cpu0,
    threads: Object.fromEntries(THREAD_KINDS.map((k) => [k, (threads1[k] ?? 0) - (threads0[k] ?? 0)])),
    brokerCpu: cpuSeconds(ctx.broker.watched?.child.pid) - broker0,
    seconds,
  };
}

async function endOffsets(brokers: string, topic: string): Promise<number> {
  const a = admin(brokers);
  await a.connect();
  try {
    return (await a.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await a.disconnect();
  }
}

/**
 * Polls the topic's end offsets: `started` at the first acknowledged batch (what it holds then is
 * left out of the rate), returns once all are in.
 */
async function untilProduced(brokers: string, topic: string, started: (done: number) => void): Promise<void> {
  let seen = false;
  for (;;) {
    const n = await endOffsets(brokers, topic);
    if (n > 0 && !seen) {
      seen = true;
      started(n);
    }
    if (n >= EVENTS) return;
    await sleep(50);
  }
}

function replayServer(count: number): Watched {
  return spawnNode([dist('replay'), ...replayArgs(count)]);
}

/** `cmd/consumer` (memory store) on `topic`, with the HTTP port it bound. */
async function startOurConsumer(ctx: Ctx, topic: string): Promise<{ consumer: Watched; port: number }> {
  const consumer = spawnNode(
    startArgs('consumer'),
    consumerEnv(ctx.broker.address, topic, mkdtempSync(join(ctx.dir, 'consumer-'))),
  );
  const port = Number((await consumer.line(/"port":(\d+).*HTTP running/)).match[1]);
  return { consumer, port };
}

/** `cmd/producer` reading the replay server at `url` into `topic`. */
function spawnOurProducer(ctx: Ctx, topic: string, url: string): Watched {
  return spawnNode(startArgs('producer'), {
    ...binaryEnv(ctx.broker.address, topic, mkdtempSync(join(ctx.dir, 'producer-'))),
    WIKIPEDIA_STREAM_URL: url,
  });
}

const replayUrl = async (replay: Watched) =>
  (await replay.line(/replaying \d+ events at (\S+)/)).match[1] as string;

/** The replay server's ceiling: a raw reader that only counts SSE event terminators. */
async function replayCeiling(ctx: Ctx): Promise<Run> {
  const replay = replayServer(EVENTS);
  try {
    const url = await replayUrl(replay);
    return await measured(
      ctx,
      () => [replay],
      async (started) => {
        const response = await fetch(url);
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        started();
        let events = 0;
        let previous = 0;
        while (events < EVENTS) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`replay ended after ${events} events`);
          for (const byte of value) {
            if (byte === 10 && previous === 10) events++;
            previous = byte;
          }
        }
        await reader.cancel();
      },
    );
  } finally {
    await stop(replay);
  }
}

async function bareProducer(ctx: Ctx, topic: string): Promise<Run> {
  await createTopic(ctx.broker.address, topic);
  let producer: Watched | undefined;
  try {
    return await measured(
      ctx,
      () => [producer],
      async (started) => {
        producer = spawnNode(['bench/bare/kafkajs-producer.ts', ctx.broker.address, topic, ctx.file]);
        await untilProduced(ctx.broker.address, topic, started);
      },
    );
  } finally {
    await stop(producer);
  }
}

async function ourProducer(ctx: Ctx, topic: string): Promise<Run> {
  await createTopic(ctx.broker.address, topic);
  const replay = replayServer(EVENTS);
  let producer: Watched | undefined;
  try {
    const url = await replayUrl(replay);
    return await measured(
      ctx,
      () => [producer],
      async (started) => {
        producer = spawnOurProducer(ctx, topic, url);
        await untilProduced(ctx.broker.address, topic, started);
      },
    );
  } finally {
    await stop(producer);
    await stop(replay);
  }
}

async function bareConsumer(ctx: Ctx, topic: string, group: string): Promise<Run> {
  let consumer: Watched | undefined;
  try {
    return await measured(
      ctx,
      () => [consumer],
      async (started) => {
        consumer = spawnNode([
          'bench/bare/kafkajs-consumer.ts',
          ctx.broker.address,
          topic,
          group,
          String(EVENTS),
          String(CONCURRENCY),
        ]);
        const done = consumer.line(/done/);
        await consumer.line(/first/);
        started();
        await done;
      },
    );
  } finally {
    await stop(consumer);
  }
}

/**
 * Polls our consumer's /stats: `started` once it counted anything (with what it counted by then,
 * which is left out of the rate), returns once it counted EVENTS.
 */
async function untilCounted(port: number, started?: (done: number) => void): Promise<void> {
  let seen = false;
  for (;;) {
    const total = await statsTotal(port);
    if (total > 0 && !seen) {
      seen = true;
      started?.(total);
    }
    if (total >= EVENTS) return;
    await sleep(20);
  }
}

async function ourConsumer(ctx: Ctx, topic: string, group: string): Promise<Run> {
  const data = mkdtempSync(join(ctx.dir, 'consumer-'));
  const consumer = spawnNode(
    startArgs('consumer'),
    { ...consumerEnv(ctx.broker.address, topic, data), KAFKA_GROUP_ID: group },
    // e.g. BENCH_CONSUMER_FLAGS=--max-semi-space-size=64 to try V8 settings on the binary.
    process.env.BENCH_CONSUMER_FLAGS ? process.env.BENCH_CONSUMER_FLAGS.split(' ') : [],
  );
  try {
    const port = Number((await consumer.line(/"port":(\d+).*HTTP running/)).match[1]);
    return await measured(
      ctx,
      () => [consumer],
      (started) => untilCounted(port, started),
    );
  } finally {
    await stop(consumer);
  }
}

/** A backlog of EVENTS at the source, both sides started at once: time until the last is counted. */
async function bareCatchUp(ctx: Ctx, topic: string): Promise<Run> {
  await createTopic(ctx.broker.address, topic);
  const parts: Watched[] = [];
  try {
    const consumer = spawnNode([
      'bench/bare/kafkajs-consumer.ts',
      ctx.broker.address,
      topic,
      `${topic}.group`,
      String(EVENTS),
      String(CONCURRENCY),
    ]);
    parts.push(consumer);
    return await measured(
      ctx,
      () => parts,
      async (started) => {
        started();
        parts.push(spawnNode(['bench/bare/kafkajs-producer.ts', ctx.broker.address, topic, ctx.file]));
        await consumer.line(/done/);
      },
    );
  } finally {
    for (const part of parts) await stop(part);
  }
}

async function ourCatchUp(ctx: Ctx, topic: string): Promise<Run> {
  await createTopic(ctx.broker.address, topic);
  const replay = replayServer(EVENTS);
  // CPU of the producer and the consumer; the replay server stands in for Wikimedia.
  const parts: Watched[] = [];
  try {
    const url = await replayUrl(replay);
    const { consumer, port } = await startOurConsumer(ctx, topic);
    parts.push(consumer);
    await consumer.line(/"consumer running"/);
    return await measured(
      ctx,
      () => parts,
      async (started) => {
        started();
        parts.push(spawnOurProducer(ctx, topic, url));
        await untilCounted(port);
      },
    );
  } finally {
    for (const part of parts.reverse()) await stop(part);
    await stop(replay);
  }
}

/** Replay at 100 events/s with meta.dt = time of sending; poll /stats and age each newest event. */
async function latencyRun(ctx: Ctx, topic: string): Promise<number[]> {
  const replay = spawnNode([dist('replay'), '--port', '0', '--rate', '100', SHARED_EVENTS_DIR]);
  const parts: Watched[] = [replay];
  try {
    const url = await replayUrl(replay);
    const { consumer, port } = await startOurConsumer(ctx, topic);
    parts.push(consumer, spawnOurProducer(ctx, topic, url));
    const samples: number[] = [];
    let last: string | null = null;
    let warmUntil = 0;
    const end = Date.now() + LATENCY_SECONDS * 1000 + 30_000;
    while (Date.now() < end) {
      const body = (await (await fetch(`http://127.0.0.1:${port}/stats?limit=1`)).json()) as {
        last_event_at: string | null;
      };
      const now = Date.now();
      if (body.last_event_at && body.last_event_at !== last) {
        last = body.last_event_at;
        if (warmUntil === 0) warmUntil = now + 3_000;
        else if (now > warmUntil) samples.push(now - Date.parse(body.last_event_at));
        if (warmUntil > 0 && now > warmUntil + LATENCY_SECONDS * 1000) break;
      }
      await sleep(5);
    }
    return samples;
  } finally {
    for (const part of parts.reverse()) await stop(part);
  }
}

type Measure =
  | 'replay'
  | 'bareProducer'
  | 'ourProducer'
  | 'bareConsumer'
  | 'ourConsumer'
  | 'bareCatchUp'
  | 'ourCatchUp';

/** Which measures to run: BENCH_KAFKA_ONLY=consumer|producer|catchup (comma-separated) for a subset. */
function selected(): Set<string> {
  const only = process.env.BENCH_KAFKA_ONLY;
  return new Set(only ? only.split(',') : ['producer', 'consumer', 'catchup', 'latency']);
}

export default async function bench() {
  const which = selected();
  const dir = mkdtempSync(join(tmpdir(), 'wikistream-bench-'));
  const broker = await startBroker();
  const runs = new Map<Measure, Run[]>();
  const add = (m: Measure, r: Run) => {
    runs.set(m, [...(runs.get(m) ?? []), r]);
    process.stdout.write(
      `  ${m}: ${fmt(r.rate)} events/s (cpu ${r.cpu.toFixed(1)} s, broker ${r.brokerCpu.toFixed(1)} s)\n`,
    );
  };
  let latency: number[] = [];
  const tag = Date.now().toString(36);
  try {
    const file = writeEventsFile(dir, EVENTS);
    for (let round = 0; round < RUNS; round++) {
      const ctx: Ctx = { broker, dir, file, round };
      // Alternate which side goes first, so a drift in the machine's load favours neither.
      const pair = async (a: () => Promise<void>, b: () => Promise<void>) => {
        if (round % 2 === 0) {
          await a();
          await b();
        } else {
          await b();
          await a();
        }
      };
      const produced = `bench.${tag}.ours.${round}`;
      if (which.has('producer') || which.has('consumer')) {
        if (which.has('producer')) add('replay', await replayCeiling(ctx));
        await pair(
          async () => {
            if (which.has('producer'))
              add('bareProducer', await bareProducer(ctx, `bench.${tag}.bare.${round}`));
          },
          async () => {
            const run = await ourProducer(ctx, produced);
            if (which.has('producer')) add('ourProducer', run);
          },
        );
      }
      if (which.has('consumer')) {
        await pair(
          async () => add('bareConsumer', await bareConsumer(ctx, produced, `${produced}.bare`)),
          async () => add('ourConsumer', await ourConsumer(ctx, produced, `${produced}.ours`)),
        );
      }
      if (which.has('catchup')) {
        await pair(
          async () => add('bareCatchUp', await bareCatchUp(ctx, `bench.${tag}.catchup.bare.${round}`)),
          async () => add('ourCatchUp', await ourCatchUp(ctx, `bench.${tag}.catchup.ours.${round}`)),
        );
      }
    }
    if (which.has('latency'))
      latency = await latencyRun({ broker, dir, file, round: 0 }, `bench.${tag}.latency`);
  } finally {
    await stop(broker.watched);
    rmSync(dir, { recursive: true, force: true });
  }
  return { title: 'Binaries next to bare kafkajs (issue 11)', markdown: report(broker, runs, latency) };
}

function report(broker: BenchBroker, runs: Map<Measure, Run[]>, latency: number[]): string {
  const rates = (m: Measure) => (runs.get(m) ?? []).map((r) => r.rate);
  const cell = (m: Measure) => (rates(m).length ? fmt(median(rates(m))) : '-');
  const list = (m: Measure) => rates(m).map(fmt).join(', ');
  /** CPU per 100k events, median over runs: the measured processes', the broker's. */
  const cpu = (m: Measure, of: 'cpu' | 'brokerCpu') => {
    const r = runs.get(m) ?? [];
    return r.length ? median(r.map((x) => (x[of] / EVENTS) * 100_000)).toFixed(2) : '-';
  };
  const brokerBusy = (m: Measure) => {
    const r = runs.get(m) ?? [];
    return r.length && broker.watched
      ? `${Math.round(median(r.map((x) => x.brokerCpu / x.seconds)) * 100)}%`
      : '-';
  };
  /** Median of per-round ratios ours/bare: both ran back to back, so this survives the noise. */
  const ratio = (ours: Measure, bare: Measure) => {
    const o = rates(ours);
    const b = rates(bare);
    if (o.length === 0 || o.length !== b.length) return '-';
    const per = o.map((x, i) => x / (b[i] as number));
    return `**${median(per).toFixed(2)}** (${per.map((x) => x.toFixed(2)).join(', ')})`;
  };
  /** Median of per-round CPU ratios bare / ours: how much of our CPU per event the bare work is. */
  const cpuRatio = (ours: Measure, bare: Measure) => {
    const o = runs.get(ours) ?? [];
    const b = runs.get(bare) ?? [];
    if (o.length === 0 || o.length !== b.length) return '';
    return median(o.map((x, i) => (b[i] as Run).cpu / x.cpu)).toFixed(2);
  };
  const row = (what: string, m: Measure, vs?: [Measure, Measure]) =>
    `| ${what} | ${cell(m)} | ${list(m)} | ${vs ? ratio(...vs) : ''} | ${cpu(m, 'cpu')} | ${vs ? cpuRatio(...vs) : ''} | ${cpu(m, 'brokerCpu')} | ${brokerBusy(m)} |`;
  /** Median CPU s per 100k events of one kind of thread (the processes the measure watches). */
  const threadRow = (what: string, m: Measure) => {
    const r = runs.get(m) ?? [];
    if (r.length === 0) return '';
    const of = (k: ThreadKind) => median(r.map((x) => ((x.threads[k] ?? 0) / EVENTS) * 100_000)).toFixed(2);
    return `| ${what} | ${THREAD_KINDS.map(of).join(' | ')} |\n`;
  };
  const p = (x: number) => (latency.length ? `${percentile(latency, x).toFixed(0)} ms` : '-');
  return `Broker: ${broker.name}, ${6} partitions, in its own process on loopback. Every side is its own
process: the built binaries as \`npm run start:producer\` / \`start:consumer\` run them (node flags included, read from
package.json; \`LOG_LEVEL=info\`, \`STORAGE=memory\`), the replay server
(\`dist/cmd/replay\`, rate 0), and the bare kafkajs baselines (\`bench/bare/*.ts\`). Events: ${fmt(EVENTS)}, the 4,122
recorded ones then copies with fresh \`meta.id\`s (~1.2 KB each). ${RUNS} rounds, each running every measure
once, ours and bare back to back (order alternating by round); medians, and the median of the
per-round ratios ours / bare. CPU columns: CPU seconds per 100,000 events of the measured processes
(ours: the producer and/or consumer, never the replay server, which stands in for Wikimedia), the
median per-round ratio of the bare baseline's CPU to ours (1.00 = we cost what bare kafkajs costs;
on a loaded machine this is the figure that survives), and the broker's CPU; "broker busy" is the broker's CPU time over the wall time of the run (100% = the
broker's one thread never rested: the broker, not the client, set the figure).

| measure | events/s (median) | runs | ours / bare (per round) | CPU s / 100k | CPU bare / ours | broker CPU s / 100k | broker busy |
|---|---:|---|---|---:|---:|---:|---:|
${row('replay server ceiling (raw SSE reader counting events)', 'replay')}
${row('bare kafkajs producer, from a file (idempotent, acks -1, gzip level 1, batches of 2,000, key meta.id, one send in flight)', 'bareProducer')}
${row('`cmd/producer`: replay server -> producer -> broker', 'ourProducer', ['ourProducer', 'bareProducer'])}
${row(`bare kafkajs consumer (eachBatch, JSON.parse, 2 Map increments, commit per batch, concurrency ${CONCURRENCY})`, 'bareConsumer')}
${row('`cmd/consumer`, `STORAGE=memory`: first event counted -> `/stats` total reaches N', 'ourConsumer', ['ourConsumer', 'bareConsumer'])}
${row('catch-up of a backlog, bare: bare producer + bare consumer started together, until the consumer counted N', 'bareCatchUp')}
${row('catch-up of a backlog, ours: replay (N waiting) -> producer -> consumer, until `/stats` total reaches N', 'ourCatchUp', ['ourCatchUp', 'bareCatchUp'])}

Catch-up rows are N over the time from starting the producer to the last event counted (both sides
running at once, so they share the two cores with the broker).

The same CPU by thread (\`/proc/PID/task\`, median CPU s per 100,000 events): the JS main thread, our
worker thread (the consumer's fetch thread, the producer's source thread), V8's GC helpers
(\`V8Worker\`: parallel scavenges, concurrent marking), libuv's pool (zlib), anything else.

| process | main | worker | GC helpers | libuv (zlib) | other |
|---|---:|---:|---:|---:|---:|
${threadRow('bare kafkajs producer', 'bareProducer')}${threadRow('`cmd/producer`', 'ourProducer')}${threadRow('bare kafkajs consumer', 'bareConsumer')}${threadRow('`cmd/consumer`', 'ourConsumer')}
End to end at 100 events/s through the binaries (replay server with \`meta.dt\` set at sending -> producer ->
broker -> consumer -> \`/stats\`, polled every 5 ms; a sample is the age of the newest event when \`/stats\` first
shows it; ${latency.length} samples over ${LATENCY_SECONDS} s after a 3 s warm-up):

| p50 | p90 | p99 | max | target |
|---:|---:|---:|---:|---|
| ${p(50)} | ${p(90)} | ${p(99)} | ${latency.length ? `${Math.max(...latency).toFixed(0)} ms` : '-'} | p99 < 1 s |
`;
}
