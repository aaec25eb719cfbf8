import { ErrorCode } from '../errors.js';
import type { ApiHandler } from '../protocol.js';

/**
 * Produce v3 (notes §5, §7). Each partition carries exactly one record batch v2, appended as bytes.
 * With a single replica acks −1 and 1 are answered at once; acks 0 gets no response at all.
 */
export const produce: ApiHandler = (ctx, r, w) => {
  r.nullableString(); // transactional_id
  const acks = r.int16();
  r.int32(); // timeout_ms
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => ({ index: r.int32(), records: r.nullableBytes() })),
  }));

  const validAcks = acks === -1 || acks === 0 || acks === 1;
  w.array(topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => {
      let errorCode: ErrorCode = ErrorCode.INVALID_REQUIRED_ACKS;
      let baseOffset = -1;
      if (validAcks) {
        const log = ctx.topics.partition(t.name, p.index);
        if (!log) {
          errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        } else {
          ({ errorCode, baseOffset } = log.append(p.records ?? Buffer.alloc(0), ctx.verifyCrc));
          if (errorCode !== ErrorCode.NONE)
            ctx.log(`produce ${t.name}/${p.index} rejected: error ${errorCode}`);
        }
      }
      // log_append_time −1: topics use CreateTime.
      w.int32(p.index).int16(errorCode).int64(baseOffset).int64(-1);
    });
  });
  w.int32(0); // throttle_time_ms
  ctx.noResponse = acks === 0;
};
