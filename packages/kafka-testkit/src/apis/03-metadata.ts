import type { ApiDefinition } from '../api.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { Writer } from '../protocol/writer.js';

/** Metadata (key 3), v0–v8: live brokers, the controller, topics with leaders (auto-creating if allowed). */
export const api: ApiDefinition = {
  key: 3,
  name: 'Metadata',
  minImplemented: 0,
  maxVersion: 8,
  handle(ctx) {
    const r = ctx.body;
    const v = ctx.version;
    const requested = v === 0 ? r.array((t) => t.string()) : r.nullableArray((t) => t.string());
    const allowAutoCreate = v >= 4 ? r.boolean() : true;
    const { cluster } = ctx;
    const names = requested === null || (v === 0 && requested.length === 0) ? [...cluster.topics.keys()] : requested;
    const topics = names.map((name) => {
      if (!cluster.topics.has(name) && allowAutoCreate && cluster.autoCreateTopics && name !== '')
        cluster.createTopic(name);
      const partitions = cluster.topics.get(name);
      const injected = cluster.takeInjectedError(3, name, undefined);
      return {
        name,
        error: injected !== 0 ? injected : partitions === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : 0,
        partitions: partitions ?? [],
      };
    });
    const w = new Writer();
    if (v >= 3) w.int32(0);
    w.array(cluster.liveBrokers(), (w, b) => {
      w.int32(b.id).string(b.host).int32(b.port);
      if (v >= 1) w.nullableString(null); // rack
    });
    if (v >= 2) w.nullableString(cluster.clusterId);
    if (v >= 1) w.int32(cluster.controllerId());
    w.array(topics, (w, t) => {
      w.int16(t.error).string(t.name);
      if (v >= 1) w.boolean(false); // is_internal
      w.array(t.partitions, (w, p) => {
        const leader = cluster.leaderOf(p);
        w.int16(leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : 0)
          .int32(p.index)
          .int32(leader);
        if (v >= 7) w.int32(0); // leader_epoch
        const replicas = leader === -1 ? [] : [leader];
        w.array(replicas, (w, id) => w.int32(id)); // replica_nodes
        w.array(replicas, (w, id) => w.int32(id)); // isr_nodes
        if (v >= 5) w.array([] as number[], (w, id) => w.int32(id)); // offline_replicas
      });
      if (v >= 8) w.int32(-2147483648); // topic_authorized_operations
    });
    if (v >= 8) w.int32(-2147483648); // cluster_authorized_operations
    return w;
  },
};
