import { randomUUID } from 'node:crypto';
import { ErrorCode } from './errors.js';

/**
 * Classic consumer-group coordinator (notes §10, after Kafka 2.8 `GroupCoordinator.scala`): a join
 * barrier with generations, leader-driven assignment through SyncGroup, session timers and committed
 * offsets. Protocol metadata and assignments are opaque bytes: the kafkajs leader computes the
 * assignment, the broker only routes it.
 */

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinRequest {
  groupId: string;
  /** '' on a first join. */
  memberId: string;
  clientId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
}

export interface JoinResponse {
  errorCode: ErrorCode;
  generationId: number;
  protocolName: string;
  leaderId: string;
  memberId: string;
  /** Filled for the leader only (notes §5, JoinGroup). */
  members: { memberId: string; metadata: Buffer }[];
}

export interface SyncResponse {
  errorCode: ErrorCode;
  assignment: Buffer;
}

export interface CommittedOffset {
  offset: number;
  metadata: string | null;
}

export interface OffsetToCommit extends CommittedOffset {
  topic: string;
  partition: number;
}

export interface GroupCoordinatorOptions {
  /**
   * Kafka's `group.initial.rebalance.delay.ms` (3000 there): how long the first rebalance of an Empty
   * group waits for more joiners. 0 makes two consumers that start together rebalance twice (notes §10).
   */
  initialRebalanceDelayMs?: number;
  logger?: (message: string) => void;
}

type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

interface Member {
  id: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: GroupProtocol[];
  assignment: Buffer;
  awaitingJoin: ((r: JoinResponse) => void) | null;
  awaitingSync: ((r: SyncResponse) => void) | null;
  sessionTimer: NodeJS.Timeout | null;
}

interface Group {
  id: string;
  state: GroupState;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  /** Insertion order matters: the first member becomes leader when the old one is gone. */
  members: Map<string, Member>;
  /** Rebalance timeout of the current join phase (or the initial delay). */
  joinTimer: NodeJS.Timeout | null;
  /** The join phase cannot complete before this time (initial rebalance delay). */
  joinNotBefore: number;
  offsets: Map<string, Map<number, CommittedOffset>>;
}

const EMPTY = Buffer.alloc(0);

function joinError(memberId: string, errorCode: ErrorCode): JoinResponse {
  return { errorCode, generationId: -1, protocolName: '', leaderId: '', memberId, members: [] };
}

function sameProtocols(a: GroupProtocol[], b: GroupProtocol[]): boolean {
  return (
    a.length === b.length &&
    a.every((p, i) => {
      const q = b[i];
      return q !== undefined && p.name === q.name && p.metadata.equals(q.metadata);
    })
  );
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly initialRebalanceDelayMs: number;
  private readonly log: (message: string) => void;

  constructor(options: GroupCoordinatorOptions = {}) {
    this.initialRebalanceDelayMs = options.initialRebalanceDelayMs ?? 0;
    this.log = options.logger ?? (() => {});
  }

  // ---------------------------------------------------------------------------------------------
  // JoinGroup / SyncGroup / Heartbeat / LeaveGroup

  join(req: JoinRequest): Promise<JoinResponse> {
    return new Promise((resolve) => {
      let group = this.groups.get(req.groupId);
      if (!group) {
        if (req.memberId !== '') return resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        group = this.createGroup(req.groupId);
      }
      if (!this.acceptsProtocols(group, req.protocolType, req.protocols)) {
        return resolve(joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      }

      if (req.memberId === '') {
        // Kafka names members `clientId-UUID`. Never answer 79 MEMBER_ID_REQUIRED: JoinGroup v1 in kafkajs
        // treats it as fatal (notes §10).
        const member: Member = {
          id: `${req.clientId}-${randomUUID()}`,
          sessionTimeoutMs: req.sessionTimeoutMs,
          rebalanceTimeoutMs: req.rebalanceTimeoutMs,
          protocols: req.protocols,
          assignment: EMPTY,
          awaitingJoin: resolve,
          awaitingSync: null,
          sessionTimer: null,
        };
        if (group.members.size === 0) group.protocolType = req.protocolType;
        group.members.set(member.id, member);
        this.log(`group ${group.id}: new member ${member.id}`);
        this.prepareRebalance(group, `member ${member.id} joined`);
        this.tryCompleteJoin(group);
        return;
      }

      const member = group.members.get(req.memberId);
      if (!member) return resolve(joinError(req.memberId, ErrorCode.UNKNOWN_MEMBER_ID));

      const unchanged = sameProtocols(member.protocols, req.protocols);
      const isLeader = group.leaderId === member.id;
      if (group.state === 'CompletingRebalance' && unchanged) {
        // The member probably lost the JoinGroup response: send the current generation again.
        return resolve(this.joinResponseFor(group, member));
      }
      if (group.state === 'Stable' && unchanged && !isLeader) {
        // Kafka rebalances a Stable group only for the leader or changed metadata.
        this.resetSessionTimer(group, member);
        return resolve(this.joinResponseFor(group, member));
      }

      member.protocols = req.protocols;
      member.sessionTimeoutMs = req.sessionTimeoutMs;
      member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
      // A second join from the same member replaces the first (its connection is most likely gone).
      member.awaitingJoin?.(joinError(member.id, ErrorCode.REBALANCE_IN_PROGRESS));
      member.awaitingJoin = resolve;
      this.prepareRebalance(group, `member ${member.id} rejoined`);
      this.tryCompleteJoin(group);
    });
  }

  sync(
    groupId: string,
    generationId: number,
    memberId: string,
    assignments: { memberId: string; assignment: Buffer }[],
  ): Promise<SyncResponse> {
    return new Promise((resolve) => {
      const group = this.groups.get(groupId);
      const member = group?.members.get(memberId);
      if (!group || !member) return resolve({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
      if (generationId !== group.generationId) {
        return resolve({ errorCode: ErrorCode.ILLEGAL_GENERATION, assignment: EMPTY });
      }
      switch (group.state) {
        case 'Empty':
          return resolve({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
        case 'PreparingRebalance':
          return resolve({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
        case 'Stable':
          this.resetSessionTimer(group, member);
          return resolve({ errorCode: ErrorCode.NONE, assignment: member.assignment });
        case 'CompletingRebalance': {
          member.awaitingSync?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
          member.awaitingSync = resolve;
          if (memberId !== group.leaderId) return;
          // The leader leaves out members that get no partitions; they receive empty bytes (notes §5).
          const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
          for (const m of group.members.values()) m.assignment = Buffer.from(byMember.get(m.id) ?? EMPTY);
          group.state = 'Stable';
          this.log(`group ${group.id}: generation ${group.generationId} stable`);
          for (const m of group.members.values()) {
            const waiter = m.awaitingSync;
            m.awaitingSync = null;
            this.resetSessionTimer(group, m);
            waiter?.({ errorCode: ErrorCode.NONE, assignment: m.assignment });
          }
          return;
        }
      }
    });
  }

  heartbeat(groupId: string, generationId: number, memberId: string): ErrorCode {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.resetSessionTimer(group, member);
    switch (group.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      // Survivors learn about a rebalance here and rejoin (notes §10).
      case 'PreparingRebalance':
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'CompletingRebalance':
      case 'Stable':
        return ErrorCode.NONE;
    }
  }

  leave(groupId: string, memberId: string): ErrorCode {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(group, member, 'left the group');
    return ErrorCode.NONE;
  }

  // ---------------------------------------------------------------------------------------------
  // OffsetCommit / OffsetFetch

  /** Kafka `doCommitOffsets`: one error code for the whole request (notes §10 table). */
  commitOffsets(
    groupId: string,
    generationId: number,
    memberId: string,
    offsets: OffsetToCommit[],
  ): ErrorCode {
    let group = this.groups.get(groupId);
    if (!group) {
      // Only a group-less commit (generation −1, e.g. admin.setOffsets) may create the group.
      if (generationId >= 0) return ErrorCode.ILLEGAL_GENERATION;
      group = this.createGroup(groupId);
    }
    if (!(generationId < 0 && group.state === 'Empty')) {
      if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
      const member = group.members.get(memberId);
      if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
      this.resetSessionTimer(group, member);
    }
    // Offsets are stored as given, negative ones too: kafkajs commits −1/−2 itself after
    // OFFSET_OUT_OF_RANGE (notes §5, OffsetCommit).
    for (const o of offsets) {
      let byPartition = group.offsets.get(o.topic);
      if (!byPartition) {
        byPartition = new Map();
        group.offsets.set(o.topic, byPartition);
      }
      byPartition.set(o.partition, { offset: o.offset, metadata: o.metadata });
    }
    return ErrorCode.NONE;
  }

  committedOffset(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(groupId)?.offsets.get(topic)?.get(partition);
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Called when the broker starts listening again after an outage. Kafka schedules a fresh session
   * expiry for every member when it loads a group, so members get a full session to come back.
   */
  restartSessionTimers(): void {
    for (const group of this.groups.values()) {
      for (const member of group.members.values()) this.resetSessionTimer(group, member);
    }
  }

  /** Clears every timer; parked requests are left unanswered (their sockets are gone). */
  shutdown(): void {
    for (const group of this.groups.values()) {
      if (group.joinTimer) clearTimeout(group.joinTimer);
      group.joinTimer = null;
      for (const member of group.members.values()) {
        if (member.sessionTimer) clearTimeout(member.sessionTimer);
        member.sessionTimer = null;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // State machine internals

  private createGroup(id: string): Group {
    const group: Group = {
      id,
      state: 'Empty',
      generationId: 0,
      protocolType: null,
      protocolName: null,
      leaderId: null,
      members: new Map(),
      joinTimer: null,
      joinNotBefore: 0,
      offsets: new Map(),
    };
    this.groups.set(id, group);
    return group;
  }

  /** 23 INCONSISTENT_GROUP_PROTOCOL unless the type matches and one protocol is common to all members. */
  private acceptsProtocols(group: Group, protocolType: string, protocols: GroupProtocol[]): boolean {
    if (protocols.length === 0) return false;
    if (group.members.size === 0) return true;
    if (group.protocolType !== protocolType) return false;
    return this.commonProtocols(group, protocols).length > 0;
  }

  private commonProtocols(group: Group, extra?: GroupProtocol[]): string[] {
    const lists = [...group.members.values()].map((m) => m.protocols);
    if (extra) lists.push(extra);
    const [first, ...rest] = lists;
    if (!first) return [];
    return first.map((p) => p.name).filter((name) => rest.every((l) => l.some((p) => p.name === name)));
  }

  /** Kafka picks the common protocol with the most first-preference votes. */
  private selectProtocol(group: Group): string {
    const candidates = this.commonProtocols(group);
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of group.members.values()) {
      const choice = m.protocols.find((p) => votes.has(p.name))?.name;
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0] ?? '';
    for (const [name, count] of votes) if (count > (votes.get(best) ?? 0)) best = name;
    return best;
  }

  /** Enters PreparingRebalance (no-op if already there) and arms the rebalance timeout. */
  private prepareRebalance(group: Group, reason: string): void {
    if (group.state === 'PreparingRebalance') return;
    // Members parked in SyncGroup learn about the new rebalance from a 27 and rejoin.
    if (group.state === 'CompletingRebalance') {
      for (const m of group.members.values()) {
        const waiter = m.awaitingSync;
        m.awaitingSync = null;
        waiter?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
      }
    }
    const initial = group.state === 'Empty';
    group.state = 'PreparingRebalance';
    this.log(`group ${group.id}: preparing rebalance (${reason})`);

    let timeoutMs = 0;
    for (const m of group.members.values()) timeoutMs = Math.max(timeoutMs, m.rebalanceTimeoutMs);
    if (initial && this.initialRebalanceDelayMs > 0) {
      timeoutMs = Math.min(timeoutMs, this.initialRebalanceDelayMs);
      group.joinNotBefore = Date.now() + timeoutMs;
    } else {
      group.joinNotBefore = 0;
    }
    if (group.joinTimer) clearTimeout(group.joinTimer);
    group.joinTimer = setTimeout(() => {
      group.joinTimer = null;
      this.completeJoin(group);
    }, timeoutMs);
    group.joinTimer.unref();
  }

  /** The join barrier: completes once every current member has a JoinGroup parked (notes §10). */
  private tryCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    if (Date.now() < group.joinNotBefore) return;
    for (const m of group.members.values()) if (!m.awaitingJoin) return;
    this.completeJoin(group);
  }

  /** Ends the join phase: drops members that did not rejoin, bumps the generation, answers the joins. */
  private completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    if (group.joinTimer) clearTimeout(group.joinTimer);
    group.joinTimer = null;

    for (const m of [...group.members.values()]) {
      if (!m.awaitingJoin) {
        this.log(`group ${group.id}: member ${m.id} did not rejoin in time, removed`);
        this.dropMember(group, m);
      }
    }

    group.generationId += 1;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.leaderId = null;
      group.protocolName = null;
      this.log(`group ${group.id}: generation ${group.generationId} is empty`);
      return;
    }
    if (group.leaderId === null || !group.members.has(group.leaderId)) {
      group.leaderId = group.members.keys().next().value ?? null;
    }
    group.protocolName = this.selectProtocol(group);
    group.state = 'CompletingRebalance';
    this.log(
      `group ${group.id}: generation ${group.generationId} with ${group.members.size} member(s), leader ${group.leaderId}`,
    );
    for (const m of group.members.values()) {
      const waiter = m.awaitingJoin;
      m.awaitingJoin = null;
      this.resetSessionTimer(group, m);
      waiter?.(this.joinResponseFor(group, m));
    }
  }

  private joinResponseFor(group: Group, member: Member): JoinResponse {
    const isLeader = group.leaderId === member.id;
    const protocolName = group.protocolName ?? '';
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolName,
      leaderId: group.leaderId ?? '',
      memberId: member.id,
      members: isLeader
        ? [...group.members.values()].map((m) => ({
            memberId: m.id,
            metadata: m.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY,
          }))
        : [],
    };
  }

  /**
   * Session timer (notes §10, SIGKILL case): reset by Heartbeat, successful OffsetCommit and the
   * JoinGroup/SyncGroup responses. A closed TCP connection is deliberately not an eviction signal.
   */
  private resetSessionTimer(group: Group, member: Member): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = null;
      // Members parked in a join or sync never expire.
      if (member.awaitingJoin || member.awaitingSync) return this.resetSessionTimer(group, member);
      if (group.members.get(member.id) !== member) return;
      this.removeMember(group, member, `session timeout (${member.sessionTimeoutMs} ms) expired`);
    }, member.sessionTimeoutMs);
    member.sessionTimer.unref();
  }

  /** Kafka `removeMemberAndUpdateGroup`. */
  private removeMember(group: Group, member: Member, reason: string): void {
    this.log(`group ${group.id}: member ${member.id} ${reason}`);
    member.awaitingJoin?.(joinError(member.id, ErrorCode.UNKNOWN_MEMBER_ID));
    member.awaitingSync?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    member.awaitingJoin = null;
    member.awaitingSync = null;
    this.dropMember(group, member);
    switch (group.state) {
      case 'Empty':
        return;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        return;
      case 'CompletingRebalance':
      case 'Stable':
        this.prepareRebalance(group, `member ${member.id} left`);
        // With nobody left, complete at once so the group becomes Empty.
        this.tryCompleteJoin(group);
        return;
    }
  }

  private dropMember(group: Group, member: Member): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
    group.members.delete(member.id);
  }
}
