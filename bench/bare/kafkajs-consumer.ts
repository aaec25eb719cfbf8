// The bare kafkajs consumer the consumer binary is measured against (the baseline issue 11 names):
// eachBatch, JSON.parse, two Map increments, commit per batch, `partitionsConsumedConcurrently` as
// the binary's default. Nothing else: no validation, no dedup, no store, no metrics, no HTTP.
//
//   node --import tsx bench/bare/kafkajs-consumer.ts BROKERS TOPIC GROUP EVENTS [CONCURRENCY]
//
// Prints `first` when the first batch arrives and `done N` once EVENTS records were counted.
import { Kafka, logLevel } from 'kafkajs';

// Exit normally on SIGTERM, so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));

const [brokers = '', topic = '', groupId = '', events = '0', concurrency = '5'] = process.argv.slice(2);
const target = Number(events);

const kafka = new Kafka({
  clientId: 'bench-bare-consumer',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
});
const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
const byDomain = new Map<string, number>();
const byUser = new Map<string, number>();
let seen = 0;
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachBatchAutoResolve: false,
  partitionsConsumedConcurrently: Number(concurrency),
  eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
    if (seen === 0) process.stdout.write('first\n');
    for (const m of batch.messages) {
      const event = JSON.parse(m.value?.toString() ?? '{}') as { meta: { domain: string }; user: string };
      byDomain.set(event.meta.domain, (byDomain.get(event.meta.domain) ?? 0) + 1);
      byUser.set(event.user, (byUser.get(event.user) ?? 0) + 1);
    }
    resolveOffset(batch.lastOffset());
    await commitOffsetsIfNecessary({
      topics: [
        {
          topic,
          partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }],
        },
      ],
    });
    seen += batch.messages.length;
    if (seen >= target) process.stdout.write(`done ${seen}\n`);
  },
});
