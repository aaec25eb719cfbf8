import { ErrorCode } from '../errors.js';
import type { OffsetToCommit } from '../group-coordinator.js';
import type { ApiHandler } from '../protocol.js';

/** OffsetCommit v2 and OffsetFetch v1 (notes §5). */

export const offsetCommit: ApiHandler = (ctx, r, w) => {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  r.int64(); // retention_time_ms: offsets never expire here
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ partition: r.int32(), offset: r.int64(), metadata: r.nullableString() })),
  }));

  // Kafka answers 3 for partitions that do not exist and applies the group check to the rest.
  const known: OffsetToCommit[] = [];
  for (const t of topics) {
    for (const p of t.partitions) {
      if (ctx.topics.partition(t.name, p.partition)) known.push({ topic: t.name, ...p });
    }
  }
  const groupError = ctx.groups.commitOffsets(groupId, generationId, memberId, known);

  w.array(topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => {
      const exists = ctx.topics.partition(t.name, p.partition) !== undefined;
      w.int32(p.partition).int16(exists ? groupError : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    });
  });
};

/**
 * Every requested partition is answered; −1 means "nothing committed". A partition left out would
 * never be fetched by kafkajs (notes §5, OffsetFetch).
 */
export const offsetFetch: ApiHandler = (ctx, r, w) => {
  const groupId = r.string();
  const topics = r.array((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) }));
  w.array(topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, partition) => {
      const committed = ctx.groups.committedOffset(groupId, t.name, partition);
      w.int32(partition)
        .int64(committed?.offset ?? -1)
        .nullableString(committed?.metadata ?? '')
        .int16(ErrorCode.NONE);
    });
  });
};
