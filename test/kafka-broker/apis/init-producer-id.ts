import { ErrorCode } from '../errors.js';
import type { ApiHandler } from '../protocol.js';

/**
 * InitProducerId v0 (notes §5): every call gets a fresh producer id with epoch 0. Transactions are not
 * supported, so a transactional id is ignored. Note the response starts with throttle_time_ms.
 */
export const initProducerId: ApiHandler = (ctx, r, w) => {
  r.nullableString(); // transactional_id
  r.int32(); // transaction_timeout_ms
  w.int32(0).int16(ErrorCode.NONE).int64(ctx.allocateProducerId()).int16(0);
};
