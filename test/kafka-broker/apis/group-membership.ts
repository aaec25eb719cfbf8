import type { ApiHandler } from '../protocol.js';

/**
 * JoinGroup v1, SyncGroup v0, Heartbeat v0 and LeaveGroup v0 (notes §5). Decoding and encoding only;
 * the state machine lives in GroupCoordinator. JoinGroup stays below v4 so that 79 MEMBER_ID_REQUIRED
 * never happens (notes §1).
 */

export const joinGroup: ApiHandler = async (ctx, r, w) => {
  const groupId = r.string();
  const sessionTimeoutMs = r.int32();
  const rebalanceTimeoutMs = r.int32();
  const memberId = r.string();
  const protocolType = r.string();
  const protocols = r.array((r) => ({ name: r.string(), metadata: Buffer.from(r.bytes()) }));

  const res = await ctx.groups.join({
    groupId,
    memberId,
    clientId: ctx.header.clientId ?? 'unknown',
    sessionTimeoutMs,
    rebalanceTimeoutMs,
    protocolType,
    protocols,
  });
  w.int16(res.errorCode)
    .int32(res.generationId)
    .string(res.protocolName)
    .string(res.leaderId)
    .string(res.memberId);
  w.array(res.members, (w, m) => {
    w.string(m.memberId).bytes(m.metadata);
  });
};

export const syncGroup: ApiHandler = async (ctx, r, w) => {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  const assignments = r.array((r) => ({ memberId: r.string(), assignment: r.bytes() }));

  const res = await ctx.groups.sync(groupId, generationId, memberId, assignments);
  // Empty bytes, never null, for a member without partitions (notes §5, SyncGroup).
  w.int16(res.errorCode).bytes(res.assignment);
};

export const heartbeat: ApiHandler = (ctx, r, w) => {
  const groupId = r.string();
  const generationId = r.int32();
  const memberId = r.string();
  w.int16(ctx.groups.heartbeat(groupId, generationId, memberId));
};

export const leaveGroup: ApiHandler = (ctx, r, w) => {
  const groupId = r.string();
  const memberId = r.string();
  w.int16(ctx.groups.leave(groupId, memberId));
};
