import type { ApiDefinition } from '../api.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { Writer } from '../protocol/writer.js';

/** CreateTopics (key 19), v0–v4. Replication is accepted and ignored (one replica per partition). */
export const api: ApiDefinition = {
  key: 19,
  name: 'CreateTopics',
  minImplemented: 0,
  maxVersion: 4,
  handle(ctx) {
    const r = ctx.body;
    const v = ctx.version;
    const topics = r.array((t) => {
      const name = t.string();
      const partitions = t.int32();
      t.int16(); // replication_factor
      const assignments = t.array((a) => [a.int32(), a.array((b) => b.int32())] as const);
      const configs = Object.fromEntries(t.array((c) => [c.string(), c.nullableString()] as const));
      return {
        name,
        configs,
        partitions: partitions === -1 ? Math.max(1, assignments.length) || ctx.cluster.defaultPartitions : partitions,
      };
    });
    r.int32(); // timeout_ms
    const validateOnly = v >= 1 ? r.boolean() : false;
    const results = topics.map((t) => {
      const injected = ctx.cluster.takeInjectedError(19, t.name);
      if (injected !== 0) return { name: t.name, error: injected };
      if (t.name === '' || !/^[a-zA-Z0-9._-]+$/.test(t.name))
        return { name: t.name, error: ErrorCode.INVALID_TOPIC_EXCEPTION };
      if (t.partitions < 1) return { name: t.name, error: ErrorCode.INVALID_PARTITIONS };
      if (ctx.cluster.topics.has(t.name)) return { name: t.name, error: ErrorCode.TOPIC_ALREADY_EXISTS };
      if (!validateOnly) ctx.cluster.createTopic(t.name, t.partitions, t.configs);
      return { name: t.name, error: 0 };
    });
    const w = new Writer();
    if (v >= 2) w.int32(0);
    w.array(results, (w, t) => {
      w.string(t.name).int16(t.error);
      if (v >= 1) w.nullableString(null);
    });
    return w;
  },
};
