import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from './errors.js';
import { GroupCoordinator, type JoinRequest, type JoinResponse } from './group-coordinator.js';

const GROUP = 'g';
const meta = (s: string): Buffer => Buffer.from(s);

function joinRequest(memberId = '', overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: GROUP,
    memberId,
    clientId: 'client',
    sessionTimeoutMs: 1_000,
    rebalanceTimeoutMs: 5_000,
    protocolType: 'consumer',
    protocols: [{ name: 'RoundRobinAssigner', metadata: meta(`m-${memberId || 'new'}`) }],
    ...overrides,
  };
}

describe('GroupCoordinator', () => {
  let groups: GroupCoordinator;

  beforeEach(() => {
    vi.useFakeTimers();
    groups = new GroupCoordinator();
  });

  afterEach(() => {
    groups.shutdown();
    vi.useRealTimers();
  });

  /** Two members in a Stable generation; `a` is the leader. */
  async function stableGroupOfTwo(): Promise<{ a: JoinResponse; b: JoinResponse }> {
    const first = await groups.join(joinRequest());
    await groups.sync(GROUP, first.generationId, first.memberId, []);
    // A new member starts a rebalance; the barrier waits for the existing member to rejoin.
    const joinB = groups.join(joinRequest());
    expect(groups.heartbeat(GROUP, first.generationId, first.memberId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const joinA = groups.join(joinRequest(first.memberId));
    const [a, b] = await Promise.all([joinA, joinB]);
    const syncB = groups.sync(GROUP, b.generationId, b.memberId, []);
    await groups.sync(GROUP, a.generationId, a.memberId, [
      { memberId: a.memberId, assignment: meta('A') },
      { memberId: b.memberId, assignment: meta('B') },
    ]);
    expect((await syncB).assignment.toString()).toBe('B');
    return { a, b };
  }

  it('runs the join barrier: generations, leader election and metadata for the leader only', async () => {
    const { a, b } = await stableGroupOfTwo();
    expect(a.generationId).toBe(2);
    expect(b.generationId).toBe(2);
    expect(a.leaderId).toBe(a.memberId);
    expect(b.leaderId).toBe(a.memberId);
    expect(a.protocolName).toBe('RoundRobinAssigner');
    expect(a.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
    expect(b.members).toEqual([]);
    expect(a.memberId).toMatch(/^client-[0-9a-f-]{36}$/);
  });

  it('gives empty bytes to members the leader leaves out of SyncGroup', async () => {
    const first = await groups.join(joinRequest());
    await groups.sync(GROUP, first.generationId, first.memberId, []);
    const joinB = groups.join(joinRequest());
    const a = await groups.join(joinRequest(first.memberId));
    const b = await joinB;
    const syncB = groups.sync(GROUP, b.generationId, b.memberId, []);
    await groups.sync(GROUP, a.generationId, a.memberId, [{ memberId: a.memberId, assignment: meta('all') }]);
    const res = await syncB;
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.assignment.length).toBe(0);
  });

  it('evicts a member whose session expires and rebalances the survivor', async () => {
    const { a, b } = await stableGroupOfTwo();
    // Only `a` keeps heartbeating.
    for (let t = 0; t < 1_200; t += 300) {
      await vi.advanceTimersByTimeAsync(300);
      expect(groups.heartbeat(GROUP, a.generationId, a.memberId)).toBe(
        t + 300 > 1_000 ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE,
      );
    }
    expect(groups.heartbeat(GROUP, b.generationId, b.memberId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const rejoined = await groups.join(joinRequest(a.memberId));
    expect(rejoined.generationId).toBe(3);
    expect(rejoined.members.map((m) => m.memberId)).toEqual([a.memberId]);
  });

  it('drops members that do not rejoin within the rebalance timeout', async () => {
    const { a, b } = await stableGroupOfTwo();
    let rejoined: JoinResponse | undefined;
    void groups.join(joinRequest(a.memberId)).then((r) => {
      rejoined = r;
    });
    // `b` heartbeats (so its session stays alive) but never rejoins.
    for (let t = 0; t < 4_800; t += 400) {
      await vi.advanceTimersByTimeAsync(400);
      expect(groups.heartbeat(GROUP, b.generationId, b.memberId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    expect(rejoined).toBeUndefined();
    await vi.advanceTimersByTimeAsync(400);
    expect(rejoined?.generationId).toBe(3);
    expect(rejoined?.members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect(groups.heartbeat(GROUP, b.generationId, b.memberId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('applies the generation and state checks of Heartbeat, SyncGroup and OffsetCommit', async () => {
    const first = await groups.join(joinRequest());
    const commit = (generation: number, memberId: string) =>
      groups.commitOffsets(GROUP, generation, memberId, [
        { topic: 't', partition: 0, offset: 5, metadata: null },
      ]);

    // CompletingRebalance: heartbeats are fine, commits wait for the assignment.
    expect(groups.heartbeat(GROUP, first.generationId, first.memberId)).toBe(ErrorCode.NONE);
    expect(commit(first.generationId, first.memberId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    await groups.sync(GROUP, first.generationId, first.memberId, []);

    expect(groups.heartbeat(GROUP, first.generationId + 1, first.memberId)).toBe(
      ErrorCode.ILLEGAL_GENERATION,
    );
    expect(groups.heartbeat(GROUP, first.generationId, 'nobody')).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(commit(first.generationId + 1, first.memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(commit(first.generationId, first.memberId)).toBe(ErrorCode.NONE);
    expect(groups.committedOffset(GROUP, 't', 0)).toEqual({ offset: 5, metadata: null });

    // PreparingRebalance: a commit from the current generation is still stored, a sync is refused.
    void groups.join(joinRequest());
    expect(
      groups.commitOffsets(GROUP, first.generationId, first.memberId, [
        { topic: 't', partition: 0, offset: -2, metadata: '' },
      ]),
    ).toBe(ErrorCode.NONE);
    expect(groups.committedOffset(GROUP, 't', 0)?.offset).toBe(-2);
    expect((await groups.sync(GROUP, first.generationId, first.memberId, [])).errorCode).toBe(
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
  });

  it('rejects a member whose protocols do not match the group', async () => {
    await groups.join(joinRequest());
    const res = await groups.join(
      joinRequest('', { protocols: [{ name: 'RangeAssigner', metadata: meta('') }] }),
    );
    expect(res.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const res2 = await groups.join(joinRequest('', { protocolType: 'connect' }));
    expect(res2.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('collects joiners during the initial rebalance delay of an empty group', async () => {
    const delayed = new GroupCoordinator({ initialRebalanceDelayMs: 300 });
    try {
      const joinA = delayed.join(joinRequest());
      await vi.advanceTimersByTimeAsync(200);
      const joinB = delayed.join(joinRequest());
      await vi.advanceTimersByTimeAsync(100);
      const [a, b] = await Promise.all([joinA, joinB]);
      expect([a.generationId, b.generationId]).toEqual([1, 1]);
      expect(a.members).toHaveLength(2);
    } finally {
      delayed.shutdown();
    }
  });

  it('rejects a join with an unknown member id', async () => {
    expect((await groups.join(joinRequest('ghost'))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('empties the group when the last member leaves', async () => {
    const first = await groups.join(joinRequest());
    await groups.sync(GROUP, first.generationId, first.memberId, []);
    expect(groups.leave(GROUP, first.memberId)).toBe(ErrorCode.NONE);
    expect(groups.heartbeat(GROUP, first.generationId, first.memberId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const next = await groups.join(joinRequest());
    expect(next.generationId).toBe(3);
  });
});
