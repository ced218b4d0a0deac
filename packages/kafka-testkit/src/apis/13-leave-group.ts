import type { ApiDefinition } from '../api.js';
import { Writer } from '../protocol/writer.js';
import { coordinatorError } from './partition-check.js';

/** LeaveGroup (key 13), v0–v3 (v3 leaves several members at once). */
export const api: ApiDefinition = {
  key: 13,
  name: 'LeaveGroup',
  minImplemented: 0,
  maxVersion: 3,
  handle(ctx) {
    const r = ctx.body;
    const v = ctx.version;
    const groupId = r.string();
    const members =
      v >= 3
        ? r.array((m) => ({ memberId: m.string(), groupInstanceId: m.nullableString() }))
        : [{ memberId: r.string(), groupInstanceId: null }];
    const error = coordinatorError(ctx, groupId);
    const results =
      error === 0
        ? ctx.cluster.groups.leave(
            groupId,
            members.map((m) => m.memberId),
          )
        : [];
    const w = new Writer();
    if (v >= 1) w.int32(0);
    if (v < 3) return w.int16(error !== 0 ? error : (results[0]?.errorCode ?? 0));
    w.int16(error);
    w.array(results, (w, m) => w.string(m.memberId).nullableString(null).int16(m.errorCode));
    return w;
  },
};
