import { z } from 'zod';
import { isCountKind, PAIR_KINDS, splitPairKey } from './counts.js';
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

/**
 * The other count kinds (counts.ts). An unknown kind is kept out by the restore (a newer
 * version's kind); a pair kind's keys must split, or the restore would throw far from the file.
 */
const kindCounts = z.array(z.tuple([z.string(), keyedCounts])).superRefine((kinds, ctx) => {
  for (const [kind, entries] of kinds) {
    if (!isCountKind(kind) || !PAIR_KINDS.has(kind)) continue;
    for (const [key] of entries) {
      try {
        splitPairKey(key);
      } catch {
        ctx.addIssue({ code: 'custom', message: `kind ${kind} holds a key that is not a pair key` });
        return;
      }
    }
  }
});

const countsSnapshotSchema = z.object({
  total: count,
  bots: count,
  humans: count,
  byDomain: keyedCounts,
  byUser: keyedCounts,
  byType: keyedCounts,
  kinds: kindCounts.optional(),
});

const minuteSnapshotSchema = countsSnapshotSchema.extend({
  startMs: count,
}) satisfies z.ZodType<MinuteSnapshot>;

export const statsSnapshotSchema = countsSnapshotSchema.extend({
  rejected: count,
  lastEventMs: count,
  minutes: z.array(minuteSnapshotSchema).optional(),
  coarse: z.array(minuteSnapshotSchema).optional(),
}) satisfies z.ZodType<StatsSnapshot>;
