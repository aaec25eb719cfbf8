import { ErrorCode } from '../errors.js';
import type { ApiHandler } from '../protocol.js';

const LATEST = -1;
const EARLIEST = -2;

/**
 * ListOffsets v1 (notes §5, §8): −1 = high watermark, −2 = log start (0 without retention); Kafka
 * answers timestamp −1 for both. Other timestamps resolve at batch granularity (see PartitionLog).
 */
export const listOffsets: ApiHandler = (ctx, r, w) => {
  r.int32(); // replica_id
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ partition: r.int32(), timestamp: r.int64() })),
  }));
  w.array(topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => {
      const log = ctx.topics.partition(t.name, p.partition);
      if (!log) {
        w.int32(p.partition).int16(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).int64(-1).int64(-1);
        return;
      }
      let offset: number;
      if (p.timestamp === LATEST) offset = log.highWatermark;
      else if (p.timestamp === EARLIEST) offset = log.logStartOffset;
      else offset = log.offsetForTimestamp(p.timestamp);
      const timestamp = p.timestamp < 0 || offset < 0 ? -1 : p.timestamp;
      w.int32(p.partition).int16(ErrorCode.NONE).int64(timestamp).int64(offset);
    });
  });
};
