import { createRequire } from 'node:module';
import { type KafkaTestBroker, Reader, startKafkaBroker } from '@q/kafka-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Each request decoder and response encoder of the broker, checked against kafkajs's own request
 * encoders and response decoders (used as an oracle only, never by the broker): kafkajs encodes a
 * request, the broker's handler decodes it and answers, kafkajs decodes the answer.
 */
const require = createRequire(import.meta.url);
type KafkajsApi = {
  versions: string[];
  protocol: (o: { version: number }) => (args: Record<string, unknown>) => {
    request: { apiKey: number; apiVersion: number; encode(): Promise<{ buffer: Buffer }> };
    response: {
      decode(raw: Buffer): Promise<Record<string, unknown>>;
      parse(d: unknown): Promise<Record<string, unknown>>;
    };
  };
};
const kafkajs = (name: string): KafkajsApi => require(`kafkajs/src/protocol/requests/${name}`) as KafkajsApi;

let broker: KafkaTestBroker;
beforeAll(async () => {
  broker = await startKafkaBroker({ brokers: 1, topics: [{ name: 'oracle', partitions: 2 }] });
});
afterAll(async () => broker?.stop());

/** Encodes with kafkajs, handles with the broker, decodes (and parses: it throws on error codes) with kafkajs. */
async function roundTrip(
  name: string,
  version: number,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { request, response } = kafkajs(name).protocol({ version })(args);
  const body = (await request.encode()).buffer;
  const api = broker.cluster.api(request.apiKey);
  if (api === undefined) throw new Error(`no handler for key ${request.apiKey}`);
  const out = await api.handle({
    apiKey: request.apiKey,
    version: request.apiVersion,
    correlationId: 1,
    clientId: 'oracle',
    body: new Reader(body),
    cluster: broker.cluster,
    broker: broker.cluster.brokers[0] as never,
    signal: new AbortController().signal,
  });
  if (out === null) return {};
  return response.parse(await response.decode(Buffer.from(out.toBuffer())));
}

const ours = (key: number): number[] => {
  const a = broker.cluster.api(key);
  return a ? Array.from({ length: a.maxVersion - a.minImplemented + 1 }, (_, i) => a.minImplemented + i) : [];
};
const common = (name: string, key: number): number[] =>
  kafkajs(name)
    .versions.map(Number)
    .filter((v) => ours(key).includes(v));

describe('codec round trips against kafkajs encoders and decoders', () => {
  it('ApiVersions, Metadata, CreateTopics, FindCoordinator, InitProducerId: every common version', async () => {
    for (const v of common('apiVersions', 18)) {
      const r = await roundTrip('apiVersions', v, {});
      const keys = (r.apiVersions as { apiKey: number }[]).map((a) => a.apiKey);
      expect(keys).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 18, 19, 22]);
    }
    for (const v of common('metadata', 3)) {
      const r = await roundTrip('metadata', v, { topics: ['oracle'], allowAutoTopicCreation: false });
      expect((r.brokers as unknown[]).length).toBe(1);
      const topic = (r.topicMetadata as { topic: string; partitionMetadata: unknown[] }[])[0];
      expect(topic?.topic).toBe('oracle');
      expect(topic?.partitionMetadata).toHaveLength(2);
    }
    for (const v of common('createTopics', 19)) {
      const r = await roundTrip('createTopics', v, {
        topics: [{ topic: `created-v${v}`, numPartitions: 3, replicationFactor: 1 }],
        timeout: 1000,
      });
      expect((r.topicErrors as { errorCode: number }[])[0]?.errorCode).toBe(0);
      expect(broker.cluster.topics.get(`created-v${v}`)).toHaveLength(3);
    }
    for (const v of common('findCoordinator', 10)) {
      const r = await roundTrip('findCoordinator', v, { groupId: 'g' });
      expect((r.coordinator as { nodeId: number }).nodeId).toBe(0);
    }
    for (const v of common('initProducerId', 22)) {
      const r = await roundTrip('initProducerId', v, { transactionTimeout: 1000 });
      expect(Number(r.producerId)).toBeGreaterThanOrEqual(1000);
    }
  });

  it('Produce v3-v7, then Fetch and ListOffsets at every common version read it back', async () => {
    let expected = 0;
    for (const v of common('produce', 0)) {
      const r = await roundTrip('produce', v, {
        acks: -1,
        timeout: 1000,
        compression: 0,
        topicData: [{ topic: 'oracle', partitions: [{ partition: 0, messages: [{ key: `k${v}`, value: `v${v}` }] }] }],
      });
      const p = (r.topics as { partitions: { errorCode: number; baseOffset: string }[] }[])[0]?.partitions[0];
      expect(p?.errorCode).toBe(0);
      expect(Number(p?.baseOffset)).toBe(expected++);
    }
    for (const v of common('fetch', 1)) {
      const r = await roundTrip('fetch', v, {
        maxWaitTime: 10,
        minBytes: 1,
        maxBytes: 1 << 20,
        topics: [{ topic: 'oracle', partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 1 << 20 }] }],
      });
      const partition = (r.responses as { partitions: { highWatermark: string; messages: { value: Buffer }[] }[] }[])[0]
        ?.partitions[0];
      expect(Number(partition?.highWatermark)).toBe(expected);
      expect(partition?.messages.map((m) => String(m.value))).toEqual(common('produce', 0).map((x) => `v${x}`));
    }
    for (const v of common('listOffsets', 2)) {
      const r = await roundTrip('listOffsets', v, {
        topics: [{ topic: 'oracle', partitions: [{ partition: 0, timestamp: -1 }] }],
      });
      const p = (r.responses as { partitions: { offset: string }[] }[])[0]?.partitions[0];
      expect(Number(p?.offset)).toBe(expected);
    }
  });

  it('group APIs at every common version: join, sync, heartbeat, commit, fetch offsets, describe, leave', async () => {
    const versions = (name: string, key: number) => common(name, key);
    const rounds = Math.max(
      ...['joinGroup', 'syncGroup', 'heartbeat', 'offsetCommit', 'offsetFetch', 'describeGroups', 'leaveGroup'].map(
        (n, i) => versions(n, [11, 14, 12, 8, 9, 15, 13][i] as number).length,
      ),
    );
    const at = (list: number[], i: number): number => list[Math.min(i, list.length - 1)] as number;
    for (let i = 0; i < rounds; i++) {
      const groupId = `oracle-group-${i}`;
      const join = await roundTrip('joinGroup', at(versions('joinGroup', 11), i), {
        groupId,
        sessionTimeout: 10_000,
        rebalanceTimeout: 10_000,
        memberId: '',
        protocolType: 'consumer',
        groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from('meta') }],
      });
      const memberId = join.memberId as string;
      expect(join.leaderId).toBe(memberId);
      expect((join.members as unknown[]).length).toBe(1);
      const generationId = join.generationId as number;
      const sync = await roundTrip('syncGroup', at(versions('syncGroup', 14), i), {
        groupId,
        generationId,
        memberId,
        groupAssignment: [{ memberId, memberAssignment: Buffer.from('assigned') }],
      });
      expect(String(sync.memberAssignment)).toBe('assigned');
      await roundTrip('heartbeat', at(versions('heartbeat', 12), i), {
        groupId,
        groupGenerationId: generationId,
        memberId,
      });
      // OffsetCommit v0 carries no member or generation: Kafka refuses it for a group with members.
      await roundTrip(
        'offsetCommit',
        at(
          versions('offsetCommit', 8).filter((v) => v >= 1),
          i,
        ),
        {
          groupId,
          groupGenerationId: generationId,
          memberId,
          topics: [{ topic: 'oracle', partitions: [{ partition: 1, offset: '42' }] }],
        },
      );
      const fetched = await roundTrip('offsetFetch', at(versions('offsetFetch', 9), i), {
        groupId,
        topics: [{ topic: 'oracle', partitions: [{ partition: 1 }] }],
      });
      expect((fetched.responses as { partitions: { offset: string }[] }[])[0]?.partitions[0]?.offset).toBe('42');
      const described = await roundTrip('describeGroups', at(versions('describeGroups', 15), i), {
        groupIds: [groupId],
      });
      expect((described.groups as { state: string }[])[0]?.state).toBe('Stable');
      await roundTrip('leaveGroup', at(versions('leaveGroup', 13), i), { groupId, memberId });
      expect(broker.cluster.groups.describe(groupId).state).toBe('Empty');
    }
  });
});
