import { ALL_TIME_KINDS, type CountKind } from '../../stats/counts.js';

/**
 * How a Kafka partition's state maps onto `partition_state` rows (db/migrations/001-stats.cql):
 * kinds, ring slots, and the static columns read back as numbers.
 */

/** The change feed keeps this many batches per partition; a view further behind reloads. */
export const CHANGE_RING = 1024;
/**
 * Minute slots: more than the 24 hours (1,440 minutes, plus the 10-minute rounding of the oldest
 * bucket) kept for windows, so a slot is reused only for a minute out of every window. Keys are
 * four digits; rows of the former 128-slot ring (three-digit keys) hold disjoint counts of their
 * own minute, so they are read as they are and simply age out of the windows.
 */
export const MINUTE_RING = 2048;

/**
 * The kinds kept as `(kind, key) -> events` rows: every all-time kind of the model (pages are
 * kept only inside the 'minute' rows, since windows are all they are read for).
 */
export const ROW_KINDS: readonly CountKind[] = ALL_TIME_KINDS;
const ROW_KIND_SET: ReadonlySet<CountKind> = new Set(ROW_KINDS);

export function isRowKind(kind: CountKind): boolean {
  return ROW_KIND_SET.has(kind);
}

/** The part of a driver row we read; `types.Row` fits, so do plain test objects. */
export interface RowLike {
  get(column: string): unknown;
}

/**
 * A partition's static columns. `exists` is false before its first batch (no next_offset yet).
 * Offsets here (and in rows and change rows) are *stored* offsets: Kafka offset + `offsetBase`,
 * so they only grow, across re-bases too (see `buildRebaseBatch`).
 */
export interface PartitionStatics {
  readonly exists: boolean;
  /** Stored: the partition's next Kafka offset + `offsetBase`. */
  readonly nextOffset: number;
  /** Added to Kafka offsets to store them; moved by each re-base (0 until the first). */
  readonly offsetBase: number;
  readonly batches: number;
  readonly idsAdded: number;
  /** DEDUP_WINDOW the 'id' ring was written with; undefined before the first id. */
  readonly ringSize: number | undefined;
  readonly total: number;
  readonly rejected: number;
  readonly bots: number;
  readonly humans: number;
  readonly lastEventMs: number;
}

export const EMPTY_STATICS: PartitionStatics = Object.freeze({
  exists: false,
  nextOffset: 0,
  offsetBase: 0,
  batches: 0,
  idsAdded: 0,
  ringSize: undefined,
  total: 0,
  rejected: 0,
  bots: 0,
  humans: 0,
  lastEventMs: 0,
});

/**
 * A text value as Cassandra keeps it: UTF-8, so a lone UTF-16 surrogate (legal in a JS string,
 * hence in hostile JSON) is stored, and read back, as U+FFFD. Rows read by key are matched to
 * the keys asked for through this form, or such a name would find no row and restart from zero.
 */
export function storedText(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** bigint columns arrive as `types.Long` (int as number); null reads as 0. */
export function toNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object' && 'toNumber' in value && typeof value.toNumber === 'function') {
    const n = value.toNumber() as number;
    if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${String(value)} is beyond 2^53`);
    return n;
  }
  throw new TypeError(`expected a number, got ${typeof value}`);
}

export function staticsFromRow(row: RowLike | undefined): PartitionStatics {
  if (row === undefined || row.get('next_offset') === null || row.get('next_offset') === undefined) {
    return EMPTY_STATICS;
  }
  const ringSize = row.get('ring_size');
  return {
    exists: true,
    nextOffset: toNumber(row.get('next_offset')),
    offsetBase: toNumber(row.get('offset_base')),
    batches: toNumber(row.get('batches')),
    idsAdded: toNumber(row.get('ids_added')),
    ringSize: ringSize === null || ringSize === undefined ? undefined : toNumber(ringSize),
    total: toNumber(row.get('total')),
    rejected: toNumber(row.get('rejected')),
    bots: toNumber(row.get('bots')),
    humans: toNumber(row.get('humans')),
    lastEventMs: toNumber(row.get('last_event_ms')),
  };
}

/** Fixed-width slot keys, so a key range is a slot range (text clustering order). */
export function changeSlotKey(batch: number): string {
  return String(batch % CHANGE_RING).padStart(4, '0');
}

export function minuteSlotKey(minute: number): string {
  return String(minute % MINUTE_RING).padStart(4, '0');
}

export function idSlotKey(seq: number, ringSize: number): string {
  return String(seq % ringSize);
}

/**
 * The dedup window from the 'id' ring: the ids numbered idsAdded - capacity .. idsAdded - 1, oldest
 * first (what `DedupWindow` takes). Rows outside that range are leftovers of an older, larger
 * DEDUP_WINDOW or of a write newer than the statics we read; both are ignored.
 */
export function windowFromIdRows(
  rows: Iterable<{ readonly value: string; readonly seq: number }>,
  idsAdded: number,
  capacity: number,
): string[] {
  const from = idsAdded - capacity;
  return [...rows]
    .filter((r) => r.seq >= from && r.seq < idsAdded)
    .sort((a, b) => a.seq - b.seq)
    .map((r) => r.value);
}

/**
 * Slot ranges [first, last] of the change ring holding batches from..to-1 (at most CHANGE_RING):
 * one range, or two when it wraps.
 */
export function changeSlotRanges(from: number, to: number): Array<[string, string]> {
  const count = to - from;
  if (count <= 0) return [];
  if (count > CHANGE_RING) throw new RangeError(`${count} batches exceed the change ring`);
  const first = from % CHANGE_RING;
  const last = (to - 1) % CHANGE_RING;
  if (first <= last && count < CHANGE_RING) return [[changeSlotKey(first), changeSlotKey(last)]];
  if (count === CHANGE_RING && first === 0) return [[changeSlotKey(0), changeSlotKey(CHANGE_RING - 1)]];
  return [
    [changeSlotKey(first), changeSlotKey(CHANGE_RING - 1)],
    [changeSlotKey(0), changeSlotKey(last)],
  ];
}
