// The bare kafkajs producer the binaries are measured against: the same sends as `cmd/producer`
// (idempotent, acks -1, gzip at level 1, batches of up to 2,000, key = meta.id, one send in flight)
// of NDJSON lines read from a file, with nothing else: no SSE, no validation, no cursor, no metrics.
//
//   node --import tsx bench/bare/kafkajs-producer.ts BROKERS TOPIC FILE
//
// Prints `done N` once the broker acknowledged every line, then waits for SIGTERM.
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip, unzip } from 'node:zlib';
import kafkajs, { Kafka, logLevel, Partitioners } from 'kafkajs';

// Exit normally on SIGTERM, so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));

const [brokers = '', topic = '', file = ''] = process.argv.slice(2);
const BATCH = 2_000;

// The producer binary compresses at level 1 (internal/kafka/kafka-client.ts); the baseline does the
// same, so the comparison measures our pipeline, not a compression level.
const { CompressionCodecs, CompressionTypes } = kafkajs;
CompressionCodecs[CompressionTypes.GZIP] = () => ({
  compress: (encoder: { buffer: Buffer }) => promisify(gzip)(encoder.buffer, { level: 1 }),
  decompress: (buffer: Buffer) => promisify(unzip)(buffer),
});

const lines = readFileSync(file, 'utf8')
  .split('\n')
  .filter((line) => line !== '');
const kafka = new Kafka({
  clientId: 'bench-bare-producer',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer({
  idempotent: true,
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
});
await producer.connect();
for (let i = 0; i < lines.length; i += BATCH) {
  const messages = lines.slice(i, i + BATCH).map((value) => ({
    key: (JSON.parse(value) as { meta: { id: string } }).meta.id,
    value,
  }));
  await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages });
}
await producer.disconnect();
process.stdout.write(`done ${lines.length}\n`);
// Stay until SIGTERM, so the bench can read this process's CPU time after the last acknowledgement.
setInterval(() => {}, 60_000);
