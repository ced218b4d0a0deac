import type { ApiDefinition } from '../api.js';
import { Writer } from '../protocol/writer.js';
import { coordinatorError } from './partition-check.js';

/** Heartbeat (key 12), v0–v3. */
export const api: ApiDefinition = {
  key: 12,
  name: 'Heartbeat',
  minImplemented: 0,
  maxVersion: 3,
  handle(ctx) {
    const r = ctx.body;
    const groupId = r.string();
    const generation = r.int32();
    const memberId = r.string();
    if (ctx.version >= 3) r.nullableString();
    let error = coordinatorError(ctx, groupId);
    if (error === 0) error = ctx.cluster.groups.heartbeat(groupId, generation, memberId);
    const w = new Writer();
    if (ctx.version >= 1) w.int32(0);
    return w.int16(error);
  },
};
