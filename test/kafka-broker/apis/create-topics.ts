import { ErrorCode } from '../errors.js';
import type { ApiHandler } from '../protocol.js';

/**
 * CreateTopics v1 (notes §5). −1 partitions means the broker default. A replication factor above 1 is
 * accepted and stored as 1 (a deliberate leniency on a single node). Creation is synchronous, so
 * `timeout_ms` is ignored.
 */
export const createTopics: ApiHandler = (ctx, r, w) => {
  const requests = r.array((r) => {
    const name = r.string();
    const numPartitions = r.int32();
    r.int16(); // replication_factor
    const assignments = r.array((r) => {
      const partition = r.int32();
      r.array((r) => r.int32()); // broker ids
      return partition;
    });
    r.array((r) => [r.string(), r.nullableString()]); // configs
    return { name, numPartitions, assignments };
  });
  r.int32(); // timeout_ms
  const validateOnly = r.bool();

  w.array(requests, (w, req) => {
    // Manual assignments fix the partition count (Kafka then requires num_partitions = −1).
    const numPartitions = req.assignments.length > 0 ? req.assignments.length : req.numPartitions;
    const errorCode = ctx.topics.validateCreate(req.name, numPartitions);
    if (errorCode === ErrorCode.NONE && !validateOnly) {
      const topic = ctx.topics.create(req.name, numPartitions);
      ctx.log(`created topic ${req.name} with ${topic.partitions.length} partition(s)`);
    }
    w.string(req.name)
      .int16(errorCode)
      .nullableString(errorCode === ErrorCode.NONE ? null : errorMessage(errorCode));
  });
};

function errorMessage(code: ErrorCode): string {
  switch (code) {
    case ErrorCode.TOPIC_ALREADY_EXISTS:
      return 'Topic already exists.';
    case ErrorCode.INVALID_PARTITIONS:
      return 'Number of partitions must be larger than 0.';
    case ErrorCode.INVALID_TOPIC_EXCEPTION:
      return 'Topic name is illegal.';
    default:
      return `Error ${code}`;
  }
}
