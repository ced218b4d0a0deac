import type { ApiDefinition } from '../api.js';
import { Writer } from '../protocol/writer.js';
import { coordinatorError } from './partition-check.js';

/** SyncGroup (key 14), v0–v3: members wait for the leader's assignments. */
export const api: ApiDefinition = {
  key: 14,
  name: 'SyncGroup',
  minImplemented: 0,
  maxVersion: 3,
  async handle(ctx) {
    const r = ctx.body;
    const groupId = r.string();
    const generation = r.int32();
    const memberId = r.string();
    if (ctx.version >= 3) r.nullableString();
    const assignments = r.array((a) => ({ memberId: a.string(), assignment: Buffer.from(a.bytes()) }));
    const error = coordinatorError(ctx, groupId);
    const result =
      error !== 0
        ? { errorCode: error, assignment: Buffer.alloc(0) }
        : await ctx.cluster.groups.sync(groupId, generation, memberId, assignments);
    const w = new Writer();
    if (ctx.version >= 1) w.int32(0);
    return w.int16(result.errorCode).bytes(result.assignment);
  },
};
