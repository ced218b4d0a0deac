import type { ApiDefinition } from '../api.js';
import { Writer } from '../protocol/writer.js';

/** DescribeGroups (key 15), v0–v4. */
export const api: ApiDefinition = {
  key: 15,
  name: 'DescribeGroups',
  minImplemented: 0,
  maxVersion: 4,
  handle(ctx) {
    const r = ctx.body;
    const v = ctx.version;
    const groups = r.array((g) => g.string());
    if (v >= 3) r.boolean();
    const w = new Writer();
    if (v >= 1) w.int32(0);
    w.array(groups, (w, id) => {
      const d = ctx.cluster.groups.describe(id);
      w.int16(0).string(id).string(d.state).string(d.protocolType).string(d.protocol);
      w.array(d.members, (w, m) => {
        w.string(m.memberId);
        if (v >= 4) w.nullableString(m.groupInstanceId);
        w.string(m.clientId).string(m.clientHost).bytes(m.metadata).bytes(m.assignment);
      });
      if (v >= 3) w.int32(-2147483648);
    });
    return w;
  },
};
