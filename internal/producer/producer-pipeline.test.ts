import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from '../../test/support/capturing-logger.js';
import { SHARED_EVENTS_DIR } from '../../test/support/paths.js';
import { waitFor } from '../../test/support/wait-for.js';
import { loadConfig } from '../config/config.js';
import { createMetrics } from '../metrics/metrics.js';
import { readRecordedEvents } from '../replay/recorded-events.js';
import { ReplayServer } from '../replay/replay-server.js';
import { ProducerPipeline } from './producer-pipeline.js';

/** A kafkajs producer whose sends are held until `release()`: a broker that is behind. */
function heldProducer() {
  const waiting: Array<() => void> = [];
  let open = false;
  const producer = {
    sendBatch: () => (open ? Promise.resolve([]) : new Promise((resolve) => waiting.push(() => resolve([])))),
  } as unknown as Producer;
  return {
    producer,
    release() {
      open = true;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(stuckPauseMs: number) {
  const server = new ReplayServer({
    events: readRecordedEvents([SHARED_EVENTS_DIR]).slice(0, 1_000),
    ratePerSec: 0,
    dropEvery: 0,
    loop: false,
    retime: false,
  });
  const url = await server.listen(0, '127.0.0.1');
  const dataDir = mkdtempSync(join(tmpdir(), 'wikistream-producer-'));
  const config = loadConfig({ WIKIPEDIA_STREAM_URL: url, PRODUCER_MAX_IN_FLIGHT: '100', DATA_DIR: dataDir });
  const held = heldProducer();
  const metrics = createMetrics({ defaultMetrics: false });
  const { log, lines } = capturingLogger();
  const pipeline = new ProducerPipeline(config, held.producer, log, metrics, { stuckPauseMs });
  await pipeline.start();
  cleanups.push(async () => {
    held.release();
    await pipeline.stop();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const pauses = async () => (await metrics.producerPauses.get()).values[0]?.value ?? 0;
  return { pipeline, held, lines, pauses };
}

describe('ProducerPipeline back-pressure', () => {
  it('counts a pause in wikistream_producer_pauses_total and logs it below warn', async () => {
    const { pipeline, held, lines, pauses } = await start(60_000);
    await waitFor(async () => (await pauses()) >= 1 && pipeline.source.isPaused, {
      message: 'the stream to pause once 100 events are unacknowledged',
    });
    held.release();
    await waitFor(() => !pipeline.source.isPaused, { message: 'the stream to resume once acknowledged' });
    const pausing = lines.filter((l) => /paus/.test(l.msg));
    expect(pausing.length).toBeGreaterThan(0);
    expect(pausing.every((l) => l.level < 40)).toBe(true); // 40 = warn
  });

  it('warns when the stream stays paused past the bound: the broker is not keeping up', async () => {
    const { lines, pauses } = await start(200);
    await waitFor(() => lines.find((l) => l.level === 40 && /paused for long/.test(l.msg)), {
      message: 'a warning that the stream has been paused for long',
    });
    expect(await pauses()).toBe(1);
  });
});
