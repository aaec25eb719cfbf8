import { z } from 'zod';
import type { MinuteSnapshot } from './minute-buckets.js';
import type { StatsSnapshot } from './stats-aggregate.js';

/**
 * StatsSnapshot as a checkpoint holds it, checked before anything is restored (STYLE.md 14): a
 * count is a non-negative safe integer (a string count would be served as invalid JSON, a null
 * one would drop its key), a key any string. Keep in step with StatsSnapshot: `satisfies`
 * fails the typecheck when a required field is added there and not here.
 */
const count = z.int().nonnegative();

const keyedCounts = z.array(z.tuple([z.string(), count]));

const countsSnapshotSchema = z.object({
  total: count,
  bots: count,
  humans: count,
  byDomain: keyedCounts,
  byUser: keyedCounts,
  byType: keyedCounts,
});

const minuteSnapshotSchema = countsSnapshotSchema.extend({
  startMs: count,
}) satisfies z.ZodType<MinuteSnapshot>;

export const statsSnapshotSchema = countsSnapshotSchema.extend({
  rejected: count,
  lastEventMs: count,
  minutes: z.array(minuteSnapshotSchema).optional(),
}) satisfies z.ZodType<StatsSnapshot>;
