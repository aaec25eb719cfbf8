import { ErrorCode } from '../errors.js';
import type { ApiHandler } from '../protocol.js';

/** FindCoordinator v0 (notes §5): a single node coordinates every group. */
export const findCoordinator: ApiHandler = (ctx, r, w) => {
  r.string(); // group id
  const { nodeId, host, port } = ctx.broker;
  w.int16(ErrorCode.NONE).int32(nodeId).string(host).int32(port);
};
