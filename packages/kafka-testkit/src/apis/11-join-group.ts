import type { ApiDefinition } from '../api.js';
import { Writer } from '../protocol/writer.js';
import { coordinatorError } from './partition-check.js';

/** JoinGroup (key 11), v0–v5: waits until the rebalance completes. */
export const api: ApiDefinition = {
  key: 11,
  name: 'JoinGroup',
  minImplemented: 0,
  maxVersion: 5,
  async handle(ctx) {
    const r = ctx.body;
    const v = ctx.version;
    const groupId = r.string();
    const sessionTimeoutMs = r.int32();
    const rebalanceTimeoutMs = v >= 1 ? r.int32() : sessionTimeoutMs;
    const memberId = r.string();
    const groupInstanceId = v >= 5 ? r.nullableString() : null;
    const protocolType = r.string();
    const protocols = r.array((p) => ({ name: p.string(), metadata: Buffer.from(p.bytes()) }));
    const error = coordinatorError(ctx, groupId);
    const result =
      error !== 0
        ? { errorCode: error, generationId: -1, protocolName: '', leader: '', memberId, members: [] }
        : await ctx.cluster.groups.join({
            groupId,
            memberId,
            groupInstanceId,
            clientId: ctx.clientId ?? '',
            clientHost: '/127.0.0.1',
            sessionTimeoutMs,
            rebalanceTimeoutMs,
            protocolType,
            protocols,
          });
    const w = new Writer();
    if (v >= 2) w.int32(0);
    w.int16(result.errorCode)
      .int32(result.generationId)
      .string(result.protocolName)
      .string(result.leader)
      .string(result.memberId);
    w.array(result.members, (w, m) => {
      w.string(m.memberId);
      if (v >= 5) w.nullableString(m.groupInstanceId);
      w.bytes(m.metadata);
    });
    return w;
  },
};
