import type { Batch } from 'kafkajs';
import type { OffsetRecord } from '../stats/batch-plan.js';
import type { RecentChange, RejectReason } from '../wikimedia/event-schema.js';
import type { ConsumedRecord, DeadLetter, ParsedBatch } from './batch-processor.js';
import { type ParseOptions, parseRecords } from './parse-records.js';

type Headers = Record<string, string | string[] | undefined>;

/**
 * One fetched batch as it crosses from the fetch thread to the main thread, in one of two forms,
 * so the parsing goes to whichever thread has time for it (the fetch thread picks, see
 * fetch-thread.ts). Either way the main thread gets what `parseRecords` gives, the same function
 * on either side.
 * - `raw`: every record value copied into one buffer that is transferred (moved, not cloned):
 *   one memcpy for the whole batch; the main thread parses. Headers only on the dead-letter
 *   topic (a letter's identity), as UTF-8 strings.
 * - `parsed`: parsed and validated on the fetch thread. The events travel as one JSON array, each
 *   event a flat array of the schema's view (`encodeEvent`): the main thread parses a few hundred
 *   bytes per event instead of ~1.2 KB plus validation. Rejected records travel raw, for the
 *   dead-letter topic.
 */
export type TransferredBatch = RawBatch | PreParsedBatch;

interface BatchStamp {
  readonly topic: string;
  readonly partition: number;
  /** The fetch thread's count of group joins, and of seeks of this partition, when it was fetched. */
  readonly generation: number;
  readonly seeks: number;
  readonly offsets: Float64Array;
  readonly lastOffset: number;
  readonly highWatermark: number;
}

interface RawBatch extends BatchStamp {
  readonly form: 'raw';
  /** End of each value in `values`; -1 for a null value (a tombstone). */
  readonly ends: Int32Array;
  readonly values: ArrayBuffer;
  readonly headers?: readonly (Headers | undefined)[];
}

interface PreParsedBatch extends BatchStamp {
  readonly form: 'parsed';
  /** JSON array, one entry per record: the validated event (`encodeEvent`), or null (rejected). */
  readonly events: string;
  /** Dead-letter topic only: each record's identity, or null when it has none. */
  readonly rejectedIds?: readonly (string | null)[];
  readonly letters: readonly TransferredLetter[];
  /** The rejected records' raw values, back to back; `letters[i].end` ends each. */
  readonly letterValues: ArrayBuffer;
}

interface TransferredLetter {
  readonly offset: number;
  readonly reason: RejectReason;
  readonly detail: string;
  readonly eventId?: string;
  readonly end: number;
}

type Stamp = { readonly generation: number; readonly seeks: number };

export function packBatch(
  batch: Batch,
  stamp: Stamp,
  options: ParseOptions,
  form: TransferredBatch['form'],
): { batch: TransferredBatch; transfer: ArrayBuffer[] } {
  return form === 'raw' ? packRaw(batch, stamp, options) : packParsed(batch, stamp, options);
}

function bounds(batch: Batch) {
  return { lastOffset: Number(batch.lastOffset()), highWatermark: Number(batch.highWatermark) };
}

function packRaw(batch: Batch, stamp: Stamp, options: ParseOptions) {
  const messages = batch.messages;
  const offsets = new Float64Array(messages.length);
  const ends = new Int32Array(messages.length);
  let size = 0;
  for (const m of messages) size += m.value?.length ?? 0;
  const values = Buffer.allocUnsafeSlow(size); // its own ArrayBuffer, so it can be transferred
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Batch['messages'][number];
    offsets[i] = Number(m.offset);
    if (m.value === null) ends[i] = -1;
    else {
      at += m.value.copy(values, at);
      ends[i] = at;
    }
  }
  const packed: RawBatch = {
    form: 'raw',
    topic: batch.topic,
    partition: batch.partition,
    ...stamp,
    offsets,
    ends,
    values: values.buffer as ArrayBuffer,
    ...(batch.topic === options.dlqTopic ? { headers: messages.map((m) => stringHeaders(m.headers)) } : {}),
    ...bounds(batch),
  };
  return {
    batch: packed,
    transfer: [packed.values, offsets.buffer as ArrayBuffer, ends.buffer as ArrayBuffer],
  };
}

function packParsed(batch: Batch, stamp: Stamp, options: ParseOptions) {
  const partition = { topic: batch.topic, partition: batch.partition };
  const records: ConsumedRecord[] = batch.messages.map((m) => ({
    offset: Number(m.offset),
    value: m.value,
    ...(m.headers === undefined ? {} : { headers: m.headers }),
  }));
  const parsed = parseRecords(partition, records, options);
  const offsets = Float64Array.from(parsed.records, (r) => r.offset);
  let size = 0;
  for (const letter of parsed.letters) size += letter.value.length;
  const letterValues = Buffer.allocUnsafeSlow(size);
  let at = 0;
  const letters = parsed.letters.map((letter) => {
    at += letter.value.copy(letterValues, at);
    return {
      offset: letter.offset,
      reason: letter.reason,
      detail: letter.detail,
      ...(letter.eventId === undefined ? {} : { eventId: letter.eventId }),
      end: at,
    };
  });
  const dlq = batch.topic === options.dlqTopic;
  const packed: PreParsedBatch = {
    form: 'parsed',
    ...partition,
    ...stamp,
    offsets,
    events: dlq ? '[]' : JSON.stringify(parsed.records.map((r) => (r.event ? encodeEvent(r.event) : null))),
    ...(dlq ? { rejectedIds: parsed.records.map((r) => r.rejectedId ?? null) } : {}),
    letters,
    letterValues: letterValues.buffer as ArrayBuffer,
    ...bounds(batch),
  };
  return { batch: packed, transfer: [packed.letterValues, offsets.buffer as ArrayBuffer] };
}

/** The batch as `BatchProcessor.processParsed` takes it (a raw one parsed here, on the main thread). */
export function unpackBatch(packed: TransferredBatch, options: ParseOptions): ParsedBatch {
  const logBounds = { lastOffset: packed.lastOffset, highWatermark: packed.highWatermark };
  const partition = { topic: packed.topic, partition: packed.partition };
  if (packed.form === 'raw') return { ...parseRecords(partition, rawRecords(packed), options), ...logBounds };
  const events = JSON.parse(packed.events) as (EncodedEvent | null)[];
  const records: OffsetRecord[] = new Array(packed.offsets.length);
  for (let i = 0; i < records.length; i++) {
    const offset = packed.offsets[i] as number;
    if (packed.rejectedIds) {
      const rejectedId = packed.rejectedIds[i];
      records[i] = { offset, event: undefined, ...(rejectedId == null ? {} : { rejectedId }) };
      continue;
    }
    const event = events[i];
    records[i] = event
      ? { offset, event: decodeEvent(event) }
      : { offset, event: undefined, uncounted: true };
  }
  const values = Buffer.from(packed.letterValues);
  let start = 0;
  const letters: DeadLetter[] = packed.letters.map((l) => {
    const value = values.subarray(start, l.end);
    start = l.end;
    return {
      reason: l.reason,
      detail: l.detail,
      value,
      partition,
      offset: l.offset,
      ...(l.eventId === undefined ? {} : { eventId: l.eventId }),
    };
  });
  return { records, letters, ...logBounds };
}

/** A raw batch's records; values are views into the one transferred buffer. */
function rawRecords(packed: RawBatch): ConsumedRecord[] {
  const values = Buffer.from(packed.values);
  const records: ConsumedRecord[] = new Array(packed.offsets.length);
  let start = 0;
  for (let i = 0; i < records.length; i++) {
    const end = packed.ends[i] as number;
    const headers = packed.headers?.[i];
    records[i] = {
      offset: packed.offsets[i] as number,
      value: end < 0 ? null : values.subarray(start, end),
      ...(headers === undefined ? {} : { headers }),
    };
    if (end >= 0) start = end;
  }
  return records;
}

function stringHeaders(headers: Batch['messages'][number]['headers']): Headers | undefined {
  if (headers === undefined) return undefined;
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.map((v) => v.toString()) : value.toString();
  }
  return out;
}

/** A validated event as a flat array, fields in a fixed order; null for an absent field. */
type EncodedEvent = [
  id: string,
  dt: string,
  domain: string,
  type: string | null,
  user: string | null,
  bot: boolean | null,
  wiki: string | null,
  title: string | null,
  namespace: number | null,
  hasLength: 0 | 1,
  lengthOld: number | null,
  lengthNew: number | null,
];

/** Every field of the schema's view (`RecentChange`); `decodeEvent` gives back an equal object. */
export function encodeEvent(e: RecentChange): EncodedEvent {
  const length = e.length;
  return [
    e.meta.id,
    e.meta.dt,
    e.meta.domain,
    e.type ?? null,
    e.user ?? null,
    e.bot ?? null,
    e.wiki ?? null,
    e.title ?? null,
    e.namespace ?? null,
    length === undefined ? 0 : 1,
    length?.old ?? null,
    length?.new ?? null,
  ];
}

export function decodeEvent(a: EncodedEvent): RecentChange {
  const event: RecentChange = { meta: { id: a[0], dt: a[1], domain: a[2] } };
  if (a[3] !== null) event.type = a[3];
  if (a[4] !== null) event.user = a[4];
  if (a[5] !== null) event.bot = a[5];
  if (a[6] !== null) event.wiki = a[6];
  if (a[7] !== null) event.title = a[7];
  if (a[8] !== null) event.namespace = a[8];
  if (a[9] === 1) {
    const length: NonNullable<RecentChange['length']> = {};
    if (a[10] !== null) length.old = a[10];
    if (a[11] !== null) length.new = a[11];
    event.length = length;
  }
  return event;
}
