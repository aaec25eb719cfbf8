import { promisify } from 'node:util';
import { gzip, unzip, unzipSync } from 'node:zlib';
import kafkajs, {
  Kafka,
  type KafkaConfig,
  type logCreator,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { avoidKafkajsNegativeTimeout } from './kafkajs-timeout-warning.js';

const PINO_LEVEL: Record<logLevel, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.NOTHING]: 'debug',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs into our pino logger, structured: its `log` object becomes the line's fields. */
export function pinoLogCreator(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      log[PINO_LEVEL[level]]({ kafkaNamespace: namespace, ...fields }, `kafkajs: ${message}`);
    };
}

const gzipAsync = promisify(gzip);
const unzipAsync = promisify(unzip);

/**
 * kafkajs's gzip codec compresses at zlib's default level 6. On recentchange JSON, level 1 takes
 * half the CPU (about 10 vs 20 us per event here) for batches ~25% larger (ratio 0.17 vs 0.13):
 * on a producer that backfills, compression is the largest single cost, so we trade bytes for
 * CPU. Any gzip reader (Redpanda, other consumers) reads either level.
 */
// kafkajs is CommonJS and Node cannot see `CompressionCodecs` as a named ESM export: go through default.
const { CompressionCodecs, CompressionTypes } = kafkajs;
const gzipCodec = (inflate: (buffer: Buffer) => Promise<Buffer>) => () => ({
  compress: (encoder: { buffer: Buffer }) => gzipAsync(encoder.buffer, { level: 1 }),
  decompress: inflate,
});
CompressionCodecs[CompressionTypes.GZIP] = gzipCodec(unzipAsync);

/**
 * For a thread that does nothing but fetch (the consumer's fetch thread): fetched batches are
 * inflated inline instead of on libuv's pool. kafkajs awaits the inflate of each batch in turn, so
 * on the pool every batch waited for a hand-off to another thread and back, on two busy cores.
 * Inline it costs the same CPU without those waits (BENCHMARKS.md). Not for a thread that serves
 * HTTP: an inflate holds its event loop for milliseconds. Per thread: each has its own kafkajs.
 */
export function inflateInline(): void {
  CompressionCodecs[CompressionTypes.GZIP] = gzipCodec(async (buffer) => unzipSync(buffer));
}

/** One kafkajs client per process; producer, consumer and admin come from it. */
export function createKafka(config: Config, log: Logger, overrides: Partial<KafkaConfig> = {}): Kafka {
  avoidKafkajsNegativeTimeout(); // keeps Node 24's TimeoutNegativeWarning out of our stderr
  const kafkaLog = log.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: config.kafka.clientId,
    brokers: [...config.kafka.brokers],
    // kafkajs filters by this before calling the creator; INFO keeps group joins, drops chatter.
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(kafkaLog),
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 },
    ...overrides,
  });
}

/**
 * The producer both binaries use (events, dead letters): idempotent with acks=all, so kafkajs
 * retries a failed send with the same sequence numbers and the broker drops what it already has.
 * Retries are unbounded, as kafkajs wants for an idempotent producer: during a broker outage a send
 * waits, the producer's queue fills and the stream pauses; nothing is dropped. The partitioner is
 * kafkajs's murmur2 default, named here on purpose: it is Java-compatible, so `meta.id` keys land on
 * the same partitions as any other Kafka client would put them.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
}
