import {
  type CommittedOffset,
  type FetchedBatch,
  type GroupConsumerClient,
  type KafkaClientFactory,
  type KafkaMessage,
  KafkaQueue,
  type TopicPartition,
} from '@q/kafka';
import { describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { OffsetMapBuilder } from '../src/offset-map.js';
import { silent } from './support/test-constants.js';

/**
 * When a newly owned partition's first batch reads the last commit's offset map, through a scripted
 * client: the test says when the group assigns, when a batch arrives, how its heartbeat answers, and
 * when the committed offsets come back.
 */

const topic = 't';
const p0: TopicPartition = { topic, partition: 0 };

/** Offset 0 committed, with a map saying 1 to 9 were settled above it. */
function committedWithMap(): CommittedOffset[] {
  const map = new OffsetMapBuilder(0n);
  map.addRange(1, 10);
  return [{ topic, partition: 0, offset: '0', metadata: map.encode() ?? null }];
}

/** A group consumer driven by the test. */
class ScriptedConsumer implements GroupConsumerClient {
  eachBatch: ((batch: FetchedBatch) => Promise<void>) | undefined;
  group: { rebalancing(): void | Promise<void>; assigned(partitions: readonly TopicPartition[]): void } | undefined;
  /** What the committed-offset read answers, and when: set by each test. */
  read: () => Promise<readonly CommittedOffset[]> = async () => [];
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async subscribe(): Promise<void> {}
  async run(eachBatch: (batch: FetchedBatch) => Promise<void>): Promise<void> {
    this.eachBatch = eachBatch;
  }
  async commit(): Promise<void> {}
  fetchCommitted(): Promise<readonly CommittedOffset[]> {
    return this.read();
  }
  pause(): void {}
  resume(): void {}
  onGroupChange(listener: NonNullable<ScriptedConsumer['group']>): void {
    this.group = listener;
  }
}

/** A KafkaQueue on a scripted consumer, recording the offsets its handler ran. */
async function scripted(): Promise<{ consumer: ScriptedConsumer; queue: KafkaQueue; handled: string[] }> {
  const consumer = new ScriptedConsumer();
  const client: KafkaClientFactory = {
    groupConsumer: () => consumer,
    producer: () => {
      throw new Error('no producer here');
    },
  };
  const handled: string[] = [];
  const queue = new KafkaQueue(
    {
      brokers: ['scripted:9092'],
      group: 'g',
      topic,
      // The first batch waits at most 200 ms (half the rebalance timeout) for its map.
      rebalanceTimeoutMs: 400,
      heartbeatIntervalMs: 20,
      commitIntervalMs: 10_000,
      client,
      logger: silent,
    },
    (m: KafkaMessage) => void handled.push(m.offset),
  );
  void queue.start();
  await until(() => consumer.eachBatch !== undefined, 5000, 'the fetch loop running');
  return { consumer, queue, handled };
}

/** Offsets 0 to 9 of partition 0, as one fetched batch. */
function batch(heartbeat: () => Promise<void>): FetchedBatch & { resolved: string[] } {
  const resolved: string[] = [];
  return {
    topic,
    partition: 0,
    messages: Array.from({ length: 10 }, (_, i) => ({ offset: String(i), key: null, value: null, timestamp: '0' })),
    resolveOffset: (offset) => void resolved.push(offset),
    heartbeat,
    resolved,
  };
}

/** Offsets `from` to `from + n - 1` of partition 0, as one fetched batch. */
function batchFrom(from: number, n: number, heartbeat: () => Promise<void>): FetchedBatch & { resolved: string[] } {
  const resolved: string[] = [];
  return {
    topic,
    partition: 0,
    messages: Array.from({ length: n }, (_, i) => ({
      offset: String(from + i),
      key: null,
      value: null,
      timestamp: '0',
    })),
    resolveOffset: (offset) => void resolved.push(offset),
    heartbeat,
    resolved,
  };
}

describe('the last commit offset map, read for a newly owned partition', () => {
  it('a first batch arriving later than the wait (a slow first fetch) still gets the map: the wait starts with the batch', async () => {
    const { consumer, queue, handled } = await scripted();
    // The map comes back 300 ms after the assignment; the first fetch takes 250 ms (on a loaded
    // machine a 10 MB fetch alone took 3 s), so the batch waits 50 ms of its 200.
    consumer.read = () => delay(300).then(committedWithMap);
    consumer.group?.assigned([p0]);
    await delay(250);
    await consumer.eachBatch?.(batch(async () => {}));
    await until(() => handled.length >= 1, 5000, 'offset 0 handled');
    await queue.stop();
    expect(handled).toEqual(['0']);
  });

  it('a heartbeat failing while the first batch waits (dropped from the group, or a rebalance) leaves the batch; its next fetch gets the map', async () => {
    const { consumer, queue, handled } = await scripted();
    let answer: (rows: readonly CommittedOffset[]) => void = () => {};
    consumer.read = () => new Promise((resolve) => (answer = resolve));
    consumer.group?.assigned([p0]);
    const first = batch(() => Promise.reject(new Error('The coordinator is not aware of this member')));
    // (A heartbeat error escaping the batch is also fine: kafkajs takes it as the sign to rejoin.)
    await consumer.eachBatch?.(first).catch(() => {});
    // Neither taken nor resolved: the client fetches it again after it rejoined.
    expect(first.resolved).toEqual([]);
    expect(handled).toEqual([]);
    // Rejoined with the same partition; the read answers, and the batch is fetched again.
    consumer.group?.assigned([p0]);
    answer(committedWithMap());
    const again = batch(async () => {});
    await consumer.eachBatch?.(again);
    expect(again.resolved).toEqual(['9']);
    await until(() => handled.length >= 1, 5000, 'offset 0 handled');
    await queue.stop();
    expect(handled).toEqual(['0']);
  });

  it('a read that does not answer: the first batch goes without the map once its wait is over; nothing is lost', async () => {
    const { consumer, queue, handled } = await scripted();
    consumer.read = () => new Promise(() => {});
    consumer.group?.assigned([p0]);
    const started = Date.now();
    await consumer.eachBatch?.(batch(async () => {}));
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await until(() => handled.length >= 10, 5000, 'all ten handled');
    await queue.stop();
    expect([...handled].sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
  });
});

describe('the offset map across a rejoin (review of the wait fix)', () => {
  it('dropped while the first batch waits, and the commit changed meanwhile: the rejoin reads the map again and uses the one in force', async () => {
    const { consumer, queue, handled } = await scripted();
    const answers: ((rows: readonly CommittedOffset[]) => void)[] = [];
    consumer.read = () => new Promise((resolve) => answers.push(resolve));
    consumer.group?.assigned([p0]);
    const first = batch(() => Promise.reject(new Error('The coordinator is not aware of this member')));
    await consumer.eachBatch?.(first).catch(() => {});
    // The first read answers late: commit 0, map 1..9 (no longer in force).
    answers[0]?.(committedWithMap());
    // Meanwhile another member committed 5 with a map saying 6..19 were settled.
    consumer.group?.assigned([p0]);
    const inForce = new OffsetMapBuilder(5n);
    inForce.addRange(1, 15); // relative to the commit: 6..19
    answers[1]?.([{ topic, partition: 0, offset: '5', metadata: inForce.encode() ?? null }]);
    await consumer.eachBatch?.(batchFrom(5, 20, async () => {}));
    await until(() => handled.length >= 6, 5000, 'offsets 5 and 20..24 handled');
    await delay(50);
    await queue.stop();
    expect(answers).toHaveLength(2);
    expect(handled).toEqual(['5', '20', '21', '22', '23', '24']);
  });

  it('heartbeats failing on every try: the wait is bounded in total, not per try', async () => {
    const { consumer, queue, handled } = await scripted();
    consumer.read = () => new Promise(() => {});
    consumer.group?.assigned([p0]);
    const started = Date.now();
    while (handled.length === 0 && Date.now() - started < 3000) {
      await consumer.eachBatch?.(batch(() => Promise.reject(new Error('The group is rebalancing')))).catch(() => {});
      consumer.group?.assigned([p0]);
      await delay(1);
    }
    await queue.stop();
    // The wait is 200 ms; a few tries past it the batch goes without the map.
    expect(handled.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
