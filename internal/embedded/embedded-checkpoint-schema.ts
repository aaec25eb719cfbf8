import { z } from 'zod';
import { memoryStoreSnapshotSchema } from '../checkpoint/memory-store-snapshot-schema.js';

/**
 * The embedded checkpoint: the SSE cursor and the store of the same instant. `cursor` is
 * required (null = no usable id seen yet): counts without their cursor cannot be resumed exactly.
 */
export const embeddedCheckpointSchema = z.object({
  version: z.literal(1),
  url: z.string(),
  cursor: z.string().nullable(),
  store: memoryStoreSnapshotSchema,
});

export type EmbeddedCheckpoint = z.output<typeof embeddedCheckpointSchema>;
