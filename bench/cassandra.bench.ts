// Cassandra store apply cost per batch (issue 11): runs only where a Cassandra is reachable
// (CASSANDRA_CONTACT_POINTS set, as for the store contract suite); reported as skipped otherwise.
// Batches of real-derived events are planned against the store's position and applied one after
// another to 6 partitions of a topic of their own, as the consumer does.
import { pino } from 'pino';
import { loadConfig } from '../internal/config/config.js';
import { deriveEvents, readRecordedEvents } from '../internal/replay/recorded-events.js';
import { planBatch } from '../internal/stats/batch-plan.js';
import { createStore } from '../internal/store/create-store.js';
import { parseRecentChange } from '../internal/wikimedia/event-schema.js';
import { fmt, median, percentile, SHARED_EVENTS_DIR } from './support.js';

const TITLE = 'Cassandra store: apply cost per batch (issue 11)';
const BATCHES = Number(process.env.BENCH_CASSANDRA_BATCHES ?? 60);
const BATCH_SIZES = [100, 1_000];
const PARTITIONS = 6;

export default async function bench() {
  if (!process.env.CASSANDRA_CONTACT_POINTS) {
    process.stdout.write('cassandra bench skipped: CASSANDRA_CONTACT_POINTS is not set\n');
    return {
      title: TITLE,
      markdown: `Skipped in this run: \`CASSANDRA_CONTACT_POINTS\` was not set (no Cassandra on this machine).
Run \`CASSANDRA_CONTACT_POINTS=host:9042 npm run bench cassandra\` where one is reachable.
`,
    };
  }
  const topic = `bench.cassandra.${Date.now().toString(36)}`;
  const config = loadConfig({ ...process.env, STORAGE: 'cassandra', KAFKA_TOPIC: topic });
  const created = createStore(config, pino({ level: 'warn' }));
  if (created.kind !== 'cassandra') throw new Error('expected the Cassandra store');
  const { store } = created;
  const rows: string[] = [];
  try {
    await created.ready;
    const events = deriveEvents(readRecordedEvents([SHARED_EVENTS_DIR]), BATCHES * Math.max(...BATCH_SIZES));
    let cursor = 0;
    for (const size of BATCH_SIZES) {
      const ms: number[] = [];
      for (let b = 0; b < BATCHES; b++) {
        const partition = { topic, partition: b % PARTITIONS };
        const position = await store.position(partition);
        const records = events.slice(cursor, cursor + size).map((line, i) => {
          const parsed = parseRecentChange(line, config.source.maxEventBytes);
          return { offset: position.nextOffset + i, event: parsed.ok ? parsed.event : undefined };
        });
        cursor = (cursor + size) % (events.length - size);
        const plan = planBatch(partition, position, records, position.nextOffset + size);
        const start = performance.now();
        await store.apply(plan);
        ms.push(performance.now() - start);
      }
      const p50 = median(ms);
      rows.push(
        `| ${fmt(size)} | ${p50.toFixed(1)} | ${percentile(ms, 99).toFixed(1)} | ${fmt((size / p50) * 1000)} |`,
      );
    }
  } finally {
    await store.close();
  }
  return {
    title: TITLE,
    markdown: `\`CassandraStatsStore.apply(plan)\` against ${config.cassandra.contactPoints.join(', ')}, keyspace
\`${config.cassandra.keyspace}\`: ${BATCHES} batches per size of real-derived events, planned against the store's
position and applied one after another over ${PARTITIONS} partitions (no Kafka involved).

| events per batch | apply p50 ms | apply p99 ms | events/s at p50 |
|---:|---:|---:|---:|
${rows.join('\n')}
`,
  };
}
