import type { Config } from '../config/config.js';
import type { OffsetRecord, PartitionKey } from '../stats/batch-plan.js';
import { parseRecentChange } from '../wikimedia/event-schema.js';
import type { ConsumedRecord, DeadLetter } from './batch-processor.js';

/** A fetched batch parsed: every record as planning takes it, and the letters for the dead-letter topic. */
export interface ParsedRecords {
  readonly records: readonly OffsetRecord[];
  readonly letters: readonly DeadLetter[];
}

/** What parsing needs to know: the size bound, and which topic holds dead letters. */
export interface ParseOptions {
  readonly maxEventBytes: number;
  readonly dlqTopic: string;
}

export function parseOptionsOf(config: Config): ParseOptions {
  return { maxEventBytes: config.source.maxEventBytes, dlqTopic: config.kafka.dlqTopic };
}

/**
 * Parses and validates every record of one fetched batch (pure: the fetch thread runs it, see
 * batch-transfer.ts). On the dead-letter topic a record is a rejection to count once, by its
 * identity; elsewhere an invalid record becomes a dead letter and takes only its offset here
 * (it is counted as rejected when read back from the dead-letter topic).
 */
export function parseRecords(
  partition: PartitionKey,
  records: readonly ConsumedRecord[],
  options: ParseOptions,
): ParsedRecords {
  const out: OffsetRecord[] = [];
  const letters: DeadLetter[] = [];
  if (partition.topic === options.dlqTopic) {
    for (const record of records) {
      const rejectedId = deadLetterIdentity(record);
      out.push({ offset: record.offset, event: undefined, ...(rejectedId ? { rejectedId } : {}) });
    }
    return { records: out, letters };
  }
  for (const record of records) {
    const value = record.value ?? Buffer.alloc(0);
    const result = parseRecentChange(value.toString('utf8'), options.maxEventBytes);
    if (result.ok) {
      out.push({ offset: record.offset, event: result.event });
      continue;
    }
    out.push({ offset: record.offset, event: undefined, uncounted: true });
    letters.push({
      reason: result.reason,
      detail: result.detail,
      value,
      partition,
      offset: record.offset,
      ...(result.id === undefined ? {} : { eventId: result.id }),
    });
  }
  return { records: out, letters };
}

/**
 * What a dead letter stands for, so one written twice counts once: the SSE event the producer
 * rejected (`source-id`), or the record the consumer rejected (`source-topic`, `-partition`,
 * `-offset`). A letter from another writer, with neither, counts every time it is there.
 */
function deadLetterIdentity(record: ConsumedRecord): string | undefined {
  const header = (name: string) => {
    const value = record.headers?.[name];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : String(first);
  };
  const sseId = header('source-id');
  if (sseId !== undefined) return `sse:${sseId}`;
  const [topic, partition, offset] = [
    header('source-topic'),
    header('source-partition'),
    header('source-offset'),
  ];
  if (topic !== undefined && partition !== undefined && offset !== undefined) {
    return `record:${topic}[${partition}]@${offset}`;
  }
  return undefined;
}
