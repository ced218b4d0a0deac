import type { ApiDefinition } from '../api.js';
import { Writer } from '../protocol/writer.js';
import { leaderPartition } from './partition-check.js';

/** ListOffsets (key 2), v1–v5: -1 = latest, -2 = earliest, else the first offset at or after the time. */
export const api: ApiDefinition = {
  key: 2,
  name: 'ListOffsets',
  minImplemented: 1,
  maxVersion: 5,
  handle(ctx) {
    const r = ctx.body;
    const v = ctx.version;
    r.int32(); // replica_id
    if (v >= 2) r.int8(); // isolation_level
    const topics = r.array((t) => ({
      name: t.string(),
      partitions: t.array((p) => {
        const index = p.int32();
        if (v >= 4) p.int32(); // current_leader_epoch
        return { index, timestamp: p.int64() };
      }),
    }));
    const w = new Writer();
    if (v >= 2) w.int32(0);
    w.array(topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        const target = leaderPartition(ctx, t.name, p.index, false);
        let offset = -1n;
        if (typeof target !== 'number') {
          const log = target.log;
          offset =
            p.timestamp === -1n
              ? log.endOffset
              : p.timestamp === -2n
                ? log.startOffset
                : log.offsetForTime(p.timestamp);
        }
        w.int32(p.index)
          .int16(typeof target === 'number' ? target : 0)
          .int64(-1n)
          .int64(offset);
        if (v >= 4) w.int32(0); // leader_epoch
      });
    });
    return w;
  },
};
