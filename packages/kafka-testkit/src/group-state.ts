/** Classic consumer group states (Kafka's names). */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** A JoinGroup request, as the coordinator needs it. */
export interface JoinRequest {
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly { name: string; metadata: Buffer }[];
}

/** What a JoinGroup request is answered with. */
export interface JoinResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolName: string;
  readonly leader: string;
  readonly memberId: string;
  readonly members: readonly { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

/** A member of a consumer group, as the coordinator keeps it. */
export interface Member {
  readonly id: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: readonly { name: string; metadata: Buffer }[];
  assignment: Buffer;
  join: ((result: JoinResult) => void) | undefined;
  sync: ((result: { errorCode: number; assignment: Buffer }) => void) | undefined;
  session: NodeJS.Timeout | undefined;
}

/** A consumer group, as the coordinator keeps it. */
export interface Group {
  readonly id: string;
  state: GroupState;
  generation: number;
  protocolType: string | null;
  protocol: string | null;
  leader: string | null;
  readonly members: Map<string, Member>;
  rebalanceTimer: NodeJS.Timeout | undefined;
  readonly offsets: Map<string, { offset: bigint; metadata: string | null }>;
}

const EMPTY = Buffer.alloc(0);

/** One committed offset of a group. */
export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly metadata: string | null;
}

/** A group as DescribeGroups answers it. */
export interface GroupDescription {
  readonly groupId: string;
  readonly state: GroupState;
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: readonly {
    readonly memberId: string;
    readonly groupInstanceId: string | null;
    readonly clientId: string;
    readonly clientHost: string;
    readonly metadata: Buffer;
    readonly assignment: Buffer;
  }[];
}

/** Every committed (topic, partition) of `g` (none for a group that does not exist). */
export function committedOffsets(g: Group | undefined): CommittedOffset[] {
  if (g === undefined) return [];
  return [...g.offsets].map(([k, v]) => {
    const [topic, partition] = k.split('\u0000') as [string, string];
    return { topic, partition: Number(partition), ...v };
  });
}

/** `g` described for DescribeGroups; a group that does not exist is `Dead`. */
export function describeGroup(groupId: string, g: Group | undefined): GroupDescription {
  if (g === undefined) return { groupId, state: 'Dead', protocolType: '', protocol: '', members: [] };
  return {
    groupId,
    state: g.state,
    protocolType: g.protocolType ?? '',
    protocol: g.protocol ?? '',
    members: [...g.members.values()].map((m) => ({
      memberId: m.id,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      metadata: m.protocols.find((p) => p.name === g.protocol)?.metadata ?? EMPTY,
      assignment: m.assignment,
    })),
  };
}
