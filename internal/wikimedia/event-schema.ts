import { z } from 'zod';

/**
 * The part of `/mediawiki/recentchange/1.0.0` we rely on. Only what the stats need is required
 * (meta.id, meta.dt, meta.domain); the rest is typed but tolerant (`.catch(undefined)`: a wrong
 * type drops that field, not the event), except `bot`, which decides the bots/humans split: a
 * non-boolean there (`"true"`) is a schema error, rejected and dead-lettered, rather than an
 * edit silently counted as a human's; and a user, title or type longer than MAX_KEY_CHARS is
 * rejected too (see there). `meta.domain` is a DNS name, so case-insensitive: it is
 * counted in lower case (`EN.Wikipedia.org` is `en.wikipedia.org`).
 *
 * Unknown fields are kept by never re-serialising: the producer forwards the raw payload Wikimedia
 * sent, byte for byte, and this schema only checks it. It strips unknown keys from the *parsed view*
 * on purpose: copying every field of a loose object made validation cost 2.5x JSON.parse; this
 * view costs about 1.2x (BENCHMARKS.md).
 *
 * Every record is validated with `validRecentChange`, zod's ahead-of-time compilation of this schema
 * (`z.compile`): the same rules, generated as one straight-line function instead of a walk over
 * the schema's nodes, which allocated a result object per field (about 3x cheaper per event,
 * BENCHMARKS.md). An event the compiled path does not accept is parsed again by the schema itself,
 * so rejections and their messages are the schema's own.
 */
/** Far above MediaWiki's page size limit ($wgMaxArticleSize, 2 MiB by default): a sanity bound. */
const MAX_PAGE_BYTES = 2 ** 31;

const tolerant = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);

/**
 * Longest user name, page title and change type an event may carry: each is a key of the counts
 * (the Cassandra store keeps keys as clustering values, 64 KiB at most, and a too-long key there
 * would fail every retry of its batch). MediaWiki's own limits are far lower ($wgMaxNameChars 255,
 * titles 255 bytes plus a namespace prefix), so a longer one is not a Wikimedia event: it is a
 * schema error (dead-lettered with a reason), not a field to drop, which would count the event
 * under no user. Counted as JS counts `length` (UTF-16 units).
 */
export const MAX_KEY_CHARS = 1_000;
const KEYED_FIELDS = ['type', 'user', 'title'] as const;

export const recentChangeSchema = z
  .object({
    meta: z.object({
      id: z.string().min(1).max(200),
      dt: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' }),
      domain: z.string().min(1).max(500).toLowerCase(),
    }),
    type: tolerant(z.string()),
    user: tolerant(z.string()),
    bot: z.boolean().optional(),
    wiki: tolerant(z.string()),
    title: tolerant(z.string()),
    namespace: tolerant(z.number()),
    /** Page length in bytes before and after (for bytes changed); each side optional. */
    length: tolerant(
      z.object({
        old: tolerant(z.number().int().min(0).max(MAX_PAGE_BYTES)),
        new: tolerant(z.number().int().min(0).max(MAX_PAGE_BYTES)),
      }),
    ),
  })
  .superRefine((event, ctx) => {
    for (const field of KEYED_FIELDS) {
      const value = event[field];
      if (value !== undefined && value.length > MAX_KEY_CHARS) {
        ctx.addIssue({ code: 'custom', path: [field], message: `longer than ${MAX_KEY_CHARS} characters` });
      }
    }
  });

export type RecentChange = z.output<typeof recentChangeSchema>;

/** `strict`: fail at start-up if a future rule cannot be compiled, rather than run slow unnoticed. */
export const validRecentChange = z.compile(recentChangeSchema, { strict: true });

export const CANARY_DOMAIN = 'canary';

export type ParseResult =
  | { readonly ok: true; readonly event: RecentChange }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string; readonly id?: string };

/** Stable reasons, used as a metric label and a DLQ header: keep the set small. */
export type RejectReason = 'too_large' | 'invalid_json' | 'schema';

/**
 * Parses one SSE `data:` payload (or one Kafka record value). Never throws: a bad event is a
 * result with a reason, so the stream goes on.
 */
export function parseRecentChange(raw: string, maxBytes: number): ParseResult {
  // String length counts UTF-16 units, a lower bound of the UTF-8 size; exact bytes only near the limit.
  if (raw.length > maxBytes || (raw.length * 3 > maxBytes && Buffer.byteLength(raw) > maxBytes)) {
    return { ok: false, reason: 'too_large', detail: `event is larger than ${maxBytes} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, reason: 'invalid_json', detail: (err as Error).message };
  }
  const result = validRecentChange.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const detail = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'does not match';
    const id = idOf(json);
    return { ok: false, reason: 'schema', detail, ...(id === undefined ? {} : { id }) };
  }
  return { ok: true, event: result.data };
}

export function isCanary(event: RecentChange): boolean {
  return event.meta.domain === CANARY_DOMAIN;
}

function idOf(json: unknown): string | undefined {
  if (json && typeof json === 'object' && 'meta' in json) {
    const meta = (json as { meta: unknown }).meta;
    if (meta && typeof meta === 'object' && 'id' in meta && typeof meta.id === 'string') return meta.id;
  }
  return undefined;
}
