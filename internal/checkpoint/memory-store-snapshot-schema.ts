import { z } from 'zod';
import { statsSnapshotSchema } from '../stats/stats-snapshot-schema.js';
import type { MemoryStoreSnapshot } from '../store/memory-store.js';

/** MemoryStoreSnapshot as the consumer's and the embedded checkpoint hold it. */
export const memoryStoreSnapshotSchema = z.object({
  stats: statsSnapshotSchema,
  partitions: z.array(
    z.object({
      topic: z.string().min(1),
      partition: z.int().nonnegative(),
      nextOffset: z.int().nonnegative(),
      recentIds: z.array(z.string()),
    }),
  ),
}) satisfies z.ZodType<MemoryStoreSnapshot>;
