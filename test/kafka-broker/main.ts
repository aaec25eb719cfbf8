/**
 * Runs KafkaTestBroker as its own process, for tests or benchmarks that want a separate broker:
 *
 *   npx tsx test/kafka-broker/main.ts [port]
 *
 * Port: argv[2], else KAFKA_TEST_BROKER_PORT, else 0 (ephemeral). KAFKA_TEST_BROKER_PARTITIONS sets
 * the default partition count; KAFKA_TEST_BROKER_DEBUG=1 prints diagnostics to stderr. Prints
 * `listening 127.0.0.1:PORT` on stdout once ready, and exits 0 on SIGTERM/SIGINT.
 */
import { startKafkaBroker } from './broker.js';

function intFrom(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`invalid ${what}: ${value}`);
  return n;
}

const port = intFrom(process.argv[2] ?? process.env.KAFKA_TEST_BROKER_PORT, 0, 'port');
const defaultPartitions = intFrom(process.env.KAFKA_TEST_BROKER_PARTITIONS, 1, 'partition count') || 1;
const logger = process.env.KAFKA_TEST_BROKER_DEBUG
  ? (line: string) => process.stderr.write(`[kafka-test-broker] ${line}\n`)
  : undefined;

const broker = await startKafkaBroker({ port, defaultPartitions, logger });

let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  broker.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`shutdown failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// Announce readiness only once the signal handlers are in place.
process.stdout.write(`listening ${broker.address}\n`);
