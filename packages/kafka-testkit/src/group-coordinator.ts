import { randomUUID } from 'node:crypto';
import {
  type CommittedOffset,
  committedOffsets,
  describeGroup,
  type Group,
  type GroupDescription,
  type JoinRequest,
  type JoinResult,
  type Member,
} from './group-state.js';

import { ErrorCode } from './protocol/error-codes.js';

export type { GroupState, JoinRequest, JoinResult } from './group-state.js';

const EMPTY = Buffer.alloc(0);

/**
 * The classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and committed offsets,
 * with no initial rebalance delay: a rebalance completes as soon as every known member has rejoined,
 * or when the longest rebalance timeout passes (stragglers are removed). Sessions expire on their
 * own timers. All timers are unref'd so a test process can end.
 */
export class GroupCoordinator {
  readonly #groups = new Map<string, Group>();

  constructor(
    // Only the log and a commit notice: the cluster owns the coordinator, so it must not depend on it.
    private readonly cluster: { log(line: string): void; offsetsCommitted?(groupId: string): void },
    private readonly minSessionMs: number,
    private readonly maxSessionMs: number,
  ) {}

  #group(id: string): Group {
    let g = this.#groups.get(id);
    if (g === undefined) {
      g = {
        id,
        state: 'Empty',
        generation: 0,
        protocolType: null,
        protocol: null,
        leader: null,
        members: new Map(),
        rebalanceTimer: undefined,
        offsets: new Map(),
      };
      this.#groups.set(id, g);
    }
    return g;
  }

  /** JoinGroup: resolves when the rebalance this join starts or joins completes (or the request fails). */
  join(req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: number, memberId = req.memberId): Promise<JoinResult> =>
      Promise.resolve({ errorCode, generationId: -1, protocolName: '', leader: '', memberId, members: [] });
    if (req.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    if (req.sessionTimeoutMs < this.minSessionMs || req.sessionTimeoutMs > this.maxSessionMs) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const g = this.#group(req.groupId);
    if (g.members.size > 0 && g.protocolType !== null && g.protocolType !== req.protocolType) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    let member = req.memberId === '' ? undefined : g.members.get(req.memberId);
    if (req.memberId !== '' && member === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (member === undefined) {
      member = {
        id: `${req.clientId || 'member'}-${randomUUID()}`,
        groupInstanceId: req.groupInstanceId,
        clientId: req.clientId,
        clientHost: req.clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        protocols: req.protocols,
        assignment: EMPTY,
        join: undefined,
        sync: undefined,
        session: undefined,
      };
      g.members.set(member.id, member);
    }
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    g.protocolType = req.protocolType;
    const m = member;
    return new Promise<JoinResult>((resolve) => {
      m.join?.({
        errorCode: ErrorCode.REBALANCE_IN_PROGRESS,
        generationId: -1,
        protocolName: '',
        leader: '',
        memberId: m.id,
        members: [],
      });
      m.join = resolve;
      clearTimeout(m.session);
      if (g.state !== 'PreparingRebalance') this.#prepareRebalance(g);
      this.#tryCompleteJoin(g);
    });
  }

  /**
   * SyncGroup: the leader hands in every member's assignment; each member's call resolves with its
   * own once the leader's has come.
   */
  sync(groupId: string, generation: number, memberId: string, assignments: { memberId: string; assignment: Buffer }[]) {
    return new Promise<{
      /** 0, or the Kafka error code of the refusal. */
      errorCode: number;
      /** The member's assignment, as the leader encoded it (empty on an error). */
      assignment: Buffer;
    }>((resolve) => {
      const g = this.#groups.get(groupId);
      const member = g?.members.get(memberId);
      if (g === undefined || member === undefined)
        return resolve({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
      if (generation !== g.generation) return resolve({ errorCode: ErrorCode.ILLEGAL_GENERATION, assignment: EMPTY });
      if (g.state === 'PreparingRebalance')
        return resolve({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
      this.#touch(g, member);
      if (g.state === 'Stable') return resolve({ errorCode: 0, assignment: member.assignment });
      member.sync = resolve;
      if (memberId === g.leader) {
        for (const a of assignments) {
          const target = g.members.get(a.memberId);
          if (target !== undefined) target.assignment = a.assignment;
        }
        g.state = 'Stable';
        for (const m of g.members.values()) {
          const done = m.sync;
          m.sync = undefined;
          done?.({ errorCode: 0, assignment: m.assignment });
        }
      }
    });
  }

  /** Heartbeat: keeps the member's session alive; returns 0 or the Kafka error code (REBALANCE_IN_PROGRESS asks it to rejoin). */
  heartbeat(groupId: string, generation: number, memberId: string): number {
    const g = this.#groups.get(groupId);
    const member = g?.members.get(memberId);
    if (g === undefined || member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (g.state === 'PreparingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    if (generation !== g.generation) return ErrorCode.ILLEGAL_GENERATION;
    this.#touch(g, member);
    return 0;
  }

  /** LeaveGroup: removes the members (a rebalance follows for those left); one result per member. */
  leave(
    groupId: string,
    memberIds: string[],
  ): {
    /** The member id as asked. */
    memberId: string;
    /** 0, or UNKNOWN_MEMBER_ID. */
    errorCode: number;
  }[] {
    const g = this.#groups.get(groupId);
    const out = memberIds.map((memberId) => {
      const member = g?.members.get(memberId);
      if (g === undefined || member === undefined) return { memberId, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      this.#remove(g, member);
      return { memberId, errorCode: 0 };
    });
    if (g !== undefined) this.#afterRemoval(g);
    return out;
  }

  /** Offset commit; returns the error code for every partition of the request. */
  commit(
    groupId: string,
    generation: number,
    memberId: string,
    offsets: { topic: string; partition: number; offset: bigint; metadata: string | null }[],
  ): number {
    const g = this.#group(groupId);
    if (generation >= 0 || memberId !== '') {
      const member = g.members.get(memberId);
      if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      // As Kafka: members of the current generation may still commit while the group prepares a
      // rebalance (that is when a consumer commits what it finished before giving partitions up).
      if (g.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
      if (generation !== g.generation) return ErrorCode.ILLEGAL_GENERATION;
      this.#touch(g, member);
    } else if (g.members.size > 0) {
      // A simple commit (no generation) is only allowed while nobody is in the group.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    for (const o of offsets)
      g.offsets.set(`${o.topic}\u0000${o.partition}`, { offset: o.offset, metadata: o.metadata });
    this.cluster.offsetsCommitted?.(groupId);
    return 0;
  }

  /** The group's committed offset of one partition, if any. */
  committed(
    groupId: string,
    topic: string,
    partition: number,
  ):
    | {
        /** The next offset to read. */
        offset: bigint;
        /** The metadata committed with it. */
        metadata: string | null;
      }
    | undefined {
    return this.#groups.get(groupId)?.offsets.get(`${topic}\u0000${partition}`);
  }

  /** Every committed (topic, partition) of a group. */
  committedAll(groupId: string): CommittedOffset[] {
    return committedOffsets(this.#groups.get(groupId));
  }

  /** The group as DescribeGroups answers it. */
  describe(groupId: string): GroupDescription {
    return describeGroup(groupId, this.#groups.get(groupId));
  }

  /** Ends a member's session now, as if its heartbeats stopped (for tests). */
  expireMember(groupId: string, memberId: string): void {
    const g = this.#groups.get(groupId);
    const m = g?.members.get(memberId);
    if (g === undefined || m === undefined) return;
    this.#remove(g, m);
    this.#afterRemoval(g);
  }

  /** Cancels every timer (broker shutdown). */
  close(): void {
    for (const g of this.#groups.values()) {
      clearTimeout(g.rebalanceTimer);
      for (const m of g.members.values()) clearTimeout(m.session);
    }
  }

  #prepareRebalance(g: Group): void {
    g.state = 'PreparingRebalance';
    // Pending syncs of the old generation learn about the rebalance.
    for (const m of g.members.values()) {
      const sync = m.sync;
      m.sync = undefined;
      sync?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
    }
    clearTimeout(g.rebalanceTimer);
    const timeout = Math.max(0, ...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));
    g.rebalanceTimer = setTimeout(() => this.#completeJoin(g), timeout);
    g.rebalanceTimer.unref();
  }

  #tryCompleteJoin(g: Group): void {
    if ([...g.members.values()].every((m) => m.join !== undefined)) this.#completeJoin(g);
  }

  #completeJoin(g: Group): void {
    clearTimeout(g.rebalanceTimer);
    g.rebalanceTimer = undefined;
    for (const m of [...g.members.values()]) if (m.join === undefined) this.#remove(g, m);
    if (g.members.size === 0) {
      g.state = 'Empty';
      g.generation++;
      g.leader = null;
      return;
    }
    g.generation++;
    const members = [...g.members.values()];
    if (g.leader === null || !g.members.has(g.leader)) g.leader = (members[0] as Member).id;
    const leader = g.members.get(g.leader) as Member;
    const protocol = leader.protocols.find((p) => members.every((m) => m.protocols.some((q) => q.name === p.name)));
    g.protocol = protocol?.name ?? null;
    g.state = 'CompletingRebalance';
    for (const m of members) {
      const join = m.join;
      m.join = undefined;
      this.#touch(g, m);
      join?.({
        errorCode: protocol === undefined ? ErrorCode.INCONSISTENT_GROUP_PROTOCOL : 0,
        generationId: g.generation,
        protocolName: g.protocol ?? '',
        leader: g.leader,
        memberId: m.id,
        members:
          m.id === g.leader
            ? members.map((x) => ({
                memberId: x.id,
                groupInstanceId: x.groupInstanceId,
                metadata: x.protocols.find((p) => p.name === g.protocol)?.metadata ?? EMPTY,
              }))
            : [],
      });
    }
  }

  /** Restarts a member's session timer. */
  #touch(g: Group, m: Member): void {
    clearTimeout(m.session);
    m.session = setTimeout(() => {
      if (m.join !== undefined) return; // a pending join is governed by the rebalance timeout
      this.cluster.log(`group ${g.id}: session of ${m.id} expired`);
      this.#remove(g, m);
      this.#afterRemoval(g);
    }, m.sessionTimeoutMs);
    m.session.unref();
  }

  #remove(g: Group, m: Member): void {
    clearTimeout(m.session);
    g.members.delete(m.id);
    m.join?.({
      errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
      generationId: -1,
      protocolName: '',
      leader: '',
      memberId: m.id,
      members: [],
    });
    m.sync?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    m.join = undefined;
    m.sync = undefined;
    if (g.leader === m.id) g.leader = null;
  }

  #afterRemoval(g: Group): void {
    if (g.members.size === 0) {
      clearTimeout(g.rebalanceTimer);
      g.state = 'Empty';
      g.generation++;
      g.leader = null;
      return;
    }
    if (g.state !== 'PreparingRebalance') this.#prepareRebalance(g);
    this.#tryCompleteJoin(g);
  }
}
