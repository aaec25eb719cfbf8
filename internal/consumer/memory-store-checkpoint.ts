import { join } from 'node:path';
import { memoryStoreSnapshotSchema } from '../checkpoint/memory-store-snapshot-schema.js';
import { PeriodicCheckpoint } from '../checkpoint/periodic-checkpoint.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { MemoryStatsStore, MemoryStoreSnapshot } from '../store/memory-store.js';

/**
 * Makes the consumer's memory store durable with a local checkpoint of counts and partition
 * positions taken together. After a crash the store comes back as of the checkpoint and the
 * consumer seeks each partition back to the position in it; with no checkpoint at all it
 * rebuilds from the earliest offset. Either way the Kafka log is the source of truth.
 */
export async function restoreMemoryStore(store: MemoryStatsStore, config: Config, log: Logger) {
  const checkpoint = new PeriodicCheckpoint<MemoryStoreSnapshot>(
    join(config.dataDir, 'consumer-checkpoint.json'),
    () => store.snapshot(),
    config.checkpointIntervalMs,
    log.child({ component: 'checkpoint' }),
  );
  const saved = await checkpoint.read(memoryStoreSnapshotSchema);
  if (saved) {
    store.restore(saved);
    log.info(
      { path: checkpoint.path, partitions: saved.partitions.length },
      'memory store restored from checkpoint',
    );
  } else {
    log.info(
      { path: checkpoint.path },
      'no checkpoint: rebuilding the memory store from the earliest offsets',
    );
  }
  checkpoint.start();
  return checkpoint;
}
