import { randomUUID } from 'node:crypto';
import { kafkajsClient, type TopicPartition } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import type { CommittedOffset } from '../src/client.js';
import { OffsetMetadataTooLargeError } from '../src/errors.js';
import { PartitionCommits } from '../src/partition-commits.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const record = (offset: number) => ({ offset: String(offset), key: null, value: null, timestamp: '0' });

describe('commit metadata', () => {
  it('round-trips through kafkajs and the testkit: a map, and none (null) where none was given', async () => {
    const broker = await startKafkaBroker();
    const topic = `meta-${randomUUID()}`;
    broker.cluster.createTopic(topic, 2);
    const client = kafkajsClient.groupConsumer(
      { brokers: broker.bootstrap },
      {
        groupId: `g-${randomUUID()}`,
        minBytes: 1,
        maxBytes: 1 << 20,
        maxWaitMs: 50,
        sessionTimeoutMs: 6000,
        rebalanceTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
      },
    );
    let assigned: readonly TopicPartition[] = [];
    client.onGroupChange({ rebalancing() {}, assigned: (ps) => (assigned = ps) });
    try {
      await client.connect();
      await client.subscribe([topic], true);
      await client.run(async () => {}, 1);
      await until(() => assigned.length === 2, 10_000);
      const before = await client.fetchCommitted?.([{ topic, partition: 0 }]);
      expect(before).toEqual([{ topic, partition: 0, offset: '-1', metadata: null }]);
      await client.commit([
        { topic, partition: 0, offset: '5', metadata: 'AQIFBw' },
        { topic, partition: 1, offset: '3' },
      ]);
      const after = (await client.fetchCommitted?.(assigned)) as CommittedOffset[];
      expect([...after].sort((a, b) => a.partition - b.partition)).toEqual([
        { topic, partition: 0, offset: '5', metadata: 'AQIFBw' },
        { topic, partition: 1, offset: '3', metadata: null },
      ]);
    } finally {
      await client.disconnect();
      await broker.stop();
    }
  });

  it('a broker refusing the map as too large gets the same offsets without it, and later maps get less room', async () => {
    const sent: { offset: string; metadata?: string | null }[][] = [];
    let limit = 16;
    const client = {
      async commit(offsets: readonly (TopicPartition & { offset: string; metadata?: string | null })[]) {
        sent.push(offsets.map(({ offset, metadata }) => ({ offset, metadata })));
        if (offsets.some((o) => (o.metadata ?? '').length > limit)) throw new OffsetMetadataTooLargeError('test');
      },
    };
    const commits = new PartitionCommits(client as never, 'g', quiet, true);
    const tracker = commits.trackerFor('t\u00000', 't', 0);
    // 0 stays unsettled; every other offset above it settles: a bitmap of about 1,000 bytes.
    const entries = Array.from({ length: 8000 }, (_, i) => tracker.add(record(i)));
    for (let i = 1; i < 8000; i += 2) tracker.settle(entries[i] as never);
    await commits.commit();
    expect(sent.length).toBe(2);
    expect((sent[0]?.[0]?.metadata ?? '').length).toBeGreaterThan(16);
    expect(sent[1]).toEqual([{ offset: '0', metadata: undefined }]);
    expect(commits.committed()).toEqual([{ topic: 't', partition: 0, offset: 0n }]);
    // The next map must fit the halved room (2,048 characters); it does, and is accepted.
    limit = 2048;
    tracker.settle(entries[2] as never);
    await commits.commit();
    expect(sent.length).toBe(3);
    const third = sent[2]?.[0]?.metadata ?? '';
    expect(third.length).toBeGreaterThan(0);
    expect(third.length).toBeLessThanOrEqual(2048);
  });
});
