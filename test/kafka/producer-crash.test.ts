import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { deriveEvents } from '../../internal/replay/recorded-events.js';
import { ReplayServer } from '../../internal/replay/replay-server.js';
import { type RunningChild, startChild } from '../support/child-process.js';
import { expectedCounts } from '../support/expected-counts.js';
import { startTestKafka, type TestKafka } from '../support/kafka.js';
import { startConsumer, startProducer } from '../support/kafka-pipeline.js';
import { expectExact, REAL_EVENTS, settledStats, statsReaching, tempDataDir } from '../support/pipeline.js';
import { waitFor } from '../support/wait-for.js';

/**
 * A fast backfill: far more events than one checkpoint interval can hold, served as fast as the
 * producer reads (rate 0), every one a real recorded event under a fresh `meta.id`.
 */
const EVENTS = deriveEvents(REAL_EVENTS, 60_000);
const EXPECTED = expectedCounts(EVENTS);
/** Two partitions: the fewer the partitions, the farther apart two copies of an event land. */
const PARTITIONS = '2';
/**
 * The consumer's dedup window at the smallest value config allows with the default
 * PRODUCER_MAX_BATCH (2,000): the bound DEDUP_WINDOW >= 2 x PRODUCER_MAX_BATCH is tested at its edge.
 */
const DEDUP_WINDOW = '4000';

/** Records in the topic (all partitions), whoever wrote them: copies included. */
async function recordsCounter(kafka: TestKafka): Promise<() => Promise<number>> {
  const broker = kafka.broker;
  if (broker) return async () => broker.topicEndOffsets(kafka.topic).reduce((sum, end) => sum + end, 0);
  const admin = kafka.client.admin();
  await admin.connect();
  onTestFinished(() => admin.disconnect());
  return async () => (await admin.fetchTopicOffsets(kafka.topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

async function kill(child: RunningChild): Promise<void> {
  child.process.kill('SIGKILL');
  expect(await child.exited).toBe('SIGKILL');
}

describe('producer SIGKILLed during a full-speed backfill, default settings', () => {
  it('restarts resend only what the dedup window covers: exact counts, nothing twice', async () => {
    const kafka = await startTestKafka();
    const replay = new ReplayServer({ events: EVENTS, ratePerSec: 0, heartbeatMs: 200 });
    const url = await replay.listen();
    onTestFinished(() => replay.close());
    const recordsInTopic = await recordsCounter(kafka);
    const producerDir = tempDataDir();
    const cursorPath = join(producerDir, 'producer-cursor.json');
    // Default producer settings: no CHECKPOINT_INTERVAL_MS, PRODUCER_MAX_BATCH or reconnect overrides.
    const producerEnv = { KAFKA_PARTITIONS: PARTITIONS };
    let producer = await startProducer(kafka, url, producerDir, producerEnv, { defaults: true });
    const consumer = await startConsumer(kafka, tempDataDir(), {
      KAFKA_PARTITIONS: PARTITIONS,
      DEDUP_WINDOW,
    });

    const killWhen = async (what: string, ready: () => boolean | Promise<boolean>) => {
      await waitFor(
        async () => {
          if (producer.process.exitCode !== null) throw new Error(`producer exited:\n${producer.output()}`);
          return ready();
        },
        { timeoutMs: 60_000, intervalMs: 5, message: what },
      );
      await kill(producer);
      producer = await startProducer(kafka, url, producerDir, producerEnv, { defaults: true });
    };
    const afterMore = async (events: number) => {
      const from = await recordsInTopic().catch(() => 0);
      return async () => (await recordsInTopic()) >= from + events;
    };

    // 1. Early: as soon as the first acknowledged cursor is on disk.
    await killWhen('the first cursor on disk', () => existsSync(cursorPath));
    // 2. Just after a cursor write: the file changed under our eyes.
    await waitFor(() => existsSync(cursorPath), { message: 'a cursor' });
    const seen = readFileSync(cursorPath, 'utf8');
    await killWhen('a new cursor write', () => {
      try {
        return readFileSync(cursorPath, 'utf8') !== seen;
      } catch {
        return false; // between the rename and our read on some file systems
      }
    });
    // 3 and 4. At full speed, well inside one default checkpoint interval (5 s) of events.
    await killWhen('8,000 more records at full speed', await afterMore(8_000));
    await killWhen('15,000 more records at full speed', await afterMore(15_000));

    await statsReaching(consumer.port, consumer.child, EXPECTED.total, 120_000);
    const body = await settledStats(consumer.port, 1_000);
    // The restarts did write events again (the log holds more records than the stream had), and
    // the resumes started from a cursor, not from the beginning.
    expect(await recordsInTopic()).toBeGreaterThan(EVENTS.length);
    expect(replay.connections.slice(1).every((c) => c.lastEventId !== undefined)).toBe(true);
    expectExact(body, EXPECTED);
    expect(body.rejected).toBe(0);
  }, 240_000);

  it('refuses, at start-up, a dedup window that does not cover two producer batches', async () => {
    const envs: Record<string, string>[] = [{ DEDUP_WINDOW: '3999' }, { PRODUCER_MAX_BATCH: '10001' }];
    for (const env of envs) {
      for (const entry of ['cmd/producer/main.ts', 'cmd/consumer/main.ts']) {
        const child = startChild(entry, env);
        expect(await child.exited).toBe(2);
        const lines = child.output().trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain('DEDUP_WINDOW');
        expect(lines[0]).toContain('must be at least 2 x PRODUCER_MAX_BATCH');
      }
    }
  });
});
