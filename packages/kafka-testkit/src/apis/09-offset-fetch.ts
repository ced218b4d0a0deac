import type { ApiDefinition } from '../api.js';
import { Writer } from '../protocol/writer.js';
import { coordinatorError } from './partition-check.js';

/** OffsetFetch (key 9), v0–v5 (v6+ is flexible): committed offsets, -1 where none. */
export const api: ApiDefinition = {
  key: 9,
  name: 'OffsetFetch',
  minImplemented: 0,
  maxVersion: 5,
  handle(ctx) {
    const r = ctx.body;
    const v = ctx.version;
    const groupId = r.string();
    const requested = r.nullableArray((t) => ({ name: t.string(), partitions: t.array((p) => p.int32()) }));
    const error = coordinatorError(ctx, groupId);
    const groups = ctx.cluster.groups;
    let topics: { name: string; partitions: number[] }[];
    if (requested !== null) topics = requested;
    else {
      const byTopic = new Map<string, number[]>();
      for (const c of groups.committedAll(groupId))
        byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), c.partition]);
      topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }));
    }
    const w = new Writer();
    if (v >= 3) w.int32(0);
    w.array(topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, index) => {
        const c = error === 0 ? groups.committed(groupId, t.name, index) : undefined;
        w.int32(index).int64(c?.offset ?? -1n);
        if (v >= 5) w.int32(-1); // committed_leader_epoch
        w.nullableString(c?.metadata ?? '').int16(v >= 2 ? 0 : error);
      });
    });
    if (v >= 2) w.int16(error);
    return w;
  },
};
