import type { ApiDefinition } from '../api.js';
import { Writer } from '../protocol/writer.js';
import { coordinatorError } from './partition-check.js';

/** OffsetCommit (key 8), v0–v7, checked against the group's generation and members. */
export const api: ApiDefinition = {
  key: 8,
  name: 'OffsetCommit',
  minImplemented: 0,
  maxVersion: 7,
  handle(ctx) {
    const r = ctx.body;
    const v = ctx.version;
    const groupId = r.string();
    const generation = v >= 1 ? r.int32() : -1;
    const memberId = v >= 1 ? r.string() : '';
    if (v >= 7) r.nullableString(); // group_instance_id
    if (v >= 2 && v <= 4) r.int64(); // retention_time_ms
    const topics = r.array((t) => ({
      name: t.string(),
      partitions: t.array((p) => {
        const index = p.int32();
        const offset = p.int64();
        if (v >= 6) p.int32(); // committed_leader_epoch
        if (v === 1) p.int64(); // commit_timestamp
        return { index, offset, metadata: p.nullableString() };
      }),
    }));
    let error = coordinatorError(ctx, groupId);
    if (error === 0) {
      const offsets = topics.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.index, offset: p.offset, metadata: p.metadata })),
      );
      error = ctx.cluster.groups.commit(groupId, generation, memberId, offsets);
    }
    const w = new Writer();
    if (v >= 3) w.int32(0);
    w.array(topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => w.int32(p.index).int16(error));
    });
    return w;
  },
};
