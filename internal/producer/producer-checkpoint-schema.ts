import { z } from 'zod';

/**
 * The producer's resume cursor file. A missing or null `cursor` means nothing was acknowledged
 * when it was written (the writer omits an undefined one): the producer starts live, and says so.
 */
export const producerCheckpointSchema = z.object({
  version: z.literal(1),
  url: z.string(),
  cursor: z
    .string()
    .nullish()
    .transform((cursor) => cursor ?? undefined),
});
