import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../config/config.js';
import { restoreMemoryStore } from '../consumer/memory-store-checkpoint.js';
import { WikistreamError } from '../errors.js';
import { producerCheckpointSchema } from '../producer/producer-checkpoint-schema.js';
import { pairKey } from '../stats/counts.js';
import { MemoryStatsStore } from '../store/memory-store.js';
import { CheckpointFile } from './checkpoint-file.js';
import { memoryStoreSnapshotSchema } from './memory-store-snapshot-schema.js';
import { savedResumeCursor } from './resume-cursor.js';

const silent = pino({ level: 'silent' });

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wikistream-checkpoint-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fileWith(content: string): string {
  const path = join(tempDir(), 'checkpoint.json');
  writeFileSync(path, content);
  return path;
}

async function refusal(read: Promise<unknown>): Promise<WikistreamError> {
  const err = await read.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WikistreamError);
  const error = err as WikistreamError;
  expect(error.code).toBe('CHECKPOINT_CORRUPT');
  expect(error.message.split('\n')).toHaveLength(1);
  expect(error.message).toContain('move it away to start from scratch');
  return error;
}

/** A memory store with real counts, as the consumer checkpoints it. */
function storeSnapshot() {
  const store = new MemoryStatsStore(100);
  return {
    ...store.snapshot(),
    stats: {
      total: 3,
      rejected: 1,
      bots: 1,
      humans: 2,
      lastEventMs: 1_784_293_240_552,
      byDomain: [['en.wikipedia.org', 3]],
      byUser: [
        ['Alice', 2],
        ['Bob', 1],
      ],
      byType: [['edit', 3]],
      // The count kinds of the drill-downs (counts.ts), pair keys as pairKey() writes them.
      kinds: [
        ['domain_user', [[pairKey('en.wikipedia.org', 'Alice'), 2]]],
        ['user_first', [['Alice', 1_784_293_200_552]]],
      ],
      coarse: [
        {
          startMs: 1_784_290_800_000,
          total: 1,
          bots: 0,
          humans: 1,
          byDomain: [['en.wikipedia.org', 1]],
          byUser: [['Bob', 1]],
          byType: [['edit', 1]],
          kinds: [['page', [[pairKey('en.wikipedia.org', 'Main Page'), 1]]]],
        },
      ],
      minutes: [
        {
          startMs: 1_784_293_200_000,
          total: 3,
          bots: 1,
          humans: 2,
          byDomain: [['en.wikipedia.org', 3]],
          byUser: [
            ['Alice', 2],
            ['Bob', 1],
          ],
          byType: [['edit', 3]],
        },
      ],
    },
    partitions: [{ topic: 'wikipedia.changes', partition: 2, nextOffset: 4, recentIds: ['a', 'b', 'c'] }],
  };
}

describe('CheckpointFile.read(schema)', () => {
  it('returns undefined when there is no checkpoint yet', async () => {
    const file = new CheckpointFile(join(tempDir(), 'none.json'));
    expect(await file.read(memoryStoreSnapshotSchema)).toBeUndefined();
  });

  it('reads back what the consumer writes', async () => {
    const path = join(tempDir(), 'consumer-checkpoint.json');
    const file = new CheckpointFile(path);
    await file.write(storeSnapshot());
    expect(await file.read(memoryStoreSnapshotSchema)).toEqual(storeSnapshot());
  });

  it.each([
    ['a string count', { total: '03000' }, 'stats.total'],
    ['a null count', { byUser: [['Alice', null]] }, 'stats.byUser.0.1'],
    ['a count past 2^53', { bots: 2 ** 60 }, 'stats.bots'],
    ['a number as a key', { byDomain: [[7, 1]] }, 'stats.byDomain.0.0'],
    [
      'a pair kind with a key that does not split',
      { kinds: [['domain_user', [['Alice', 2]]]] },
      'stats.kinds',
    ],
    ['a kind with a string count', { kinds: [['user_added', [['Alice', '12']]]] }, 'stats.kinds.0.1.0.1'],
    [
      'a minute with a string count',
      { minutes: [{ ...storeSnapshot().stats.minutes[0], total: '3' }] },
      'stats.minutes.0.total',
    ],
  ])('refuses a consumer checkpoint with %s, naming the file and the field', async (_name, stats, where) => {
    const path = fileWith(
      JSON.stringify({ ...storeSnapshot(), stats: { ...storeSnapshot().stats, ...stats } }),
    );
    const err = await refusal(new CheckpointFile(path).read(memoryStoreSnapshotSchema));
    expect(err.message).toContain(`checkpoint ${path}`);
    expect(err.message).toContain(where);
  });

  it.each([
    ['null', 'null'],
    ['an empty object', '{}'],
    ['a list', '[]'],
    ['not JSON', '{"stats":'],
  ])('refuses %s', async (_name, content) => {
    await refusal(new CheckpointFile(fileWith(content)).read(memoryStoreSnapshotSchema));
  });

  it('validates the producer cursor: cursor-less or null means "nothing acknowledged"; wrong types are refused', async () => {
    const url = 'https://stream.wikimedia.org/v2/stream/recentchange';
    const read = (value: unknown) =>
      new CheckpointFile(fileWith(JSON.stringify(value))).read(producerCheckpointSchema);
    expect(await read({ version: 1, url, cursor: '[{"offset":1}]' })).toEqual({
      version: 1,
      url,
      cursor: '[{"offset":1}]',
    });
    expect(await read({ version: 1, url })).toEqual({ version: 1, url, cursor: undefined });
    expect(await read({ version: 1, url, cursor: null })).toEqual({ version: 1, url, cursor: undefined });
    await refusal(read({ version: 1, url, cursor: 42 }));
    await refusal(read({ version: 2, url, cursor: 'x' }));
    await refusal(read(null));
    await refusal(read({}));
  });
});

describe('the consumer memory store restored from a checkpoint', () => {
  it('restores a valid one and refuses a bad one before anything is served', async () => {
    const dataDir = tempDir();
    const config = loadConfig({ DATA_DIR: dataDir, CHECKPOINT_INTERVAL_MS: '3600000' });
    const path = join(dataDir, 'consumer-checkpoint.json');
    writeFileSync(path, JSON.stringify(storeSnapshot()));
    const store = new MemoryStatsStore(100);
    const checkpoint = await restoreMemoryStore(store, config, silent);
    await checkpoint.stop();
    expect((await store.read(10)).total).toBe(3);

    writeFileSync(
      path,
      JSON.stringify({ ...storeSnapshot(), stats: { ...storeSnapshot().stats, total: '03000' } }),
    );
    const fresh = new MemoryStatsStore(100);
    const err = await refusal(restoreMemoryStore(fresh, config, silent));
    expect(err.message).toContain(path);
    expect((await fresh.read(10)).total).toBe(0);
  });
});

describe('savedResumeCursor', () => {
  it('keeps a usable cursor and ignores, with a warning, one that cannot be sent back', () => {
    const warnings: unknown[] = [];
    const log = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as typeof silent;
    expect(savedResumeCursor('[{"offset":1}]', 'p', log)).toBe('[{"offset":1}]');
    expect(savedResumeCursor(null, 'p', log)).toBeUndefined();
    expect(warnings).toHaveLength(0);
    expect(savedResumeCursor('', 'p', log)).toBeUndefined();
    expect(savedResumeCursor('\u{1F600}', 'p', log)).toBeUndefined();
    expect(savedResumeCursor('a\u0000b', 'p', log)).toBeUndefined();
    expect(warnings).toHaveLength(3);
  });
});
