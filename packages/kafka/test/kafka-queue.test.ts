import { randomUUID } from 'node:crypto';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { Tally } from './support/tally.js';
import { type KafkaTarget, kafkaTargets } from './support/target.js';

const opened: KafkaTarget[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

const jitter = () => new Promise((r) => setTimeout(r, Math.random() < 0.3 ? Math.floor(Math.random() * 3) : 0));

for (const { name, open } of kafkaTargets()) {
  describe(`KafkaQueue and KafkaPusher end to end (${name})`, () => {
    const cluster = async (partitions: number): Promise<{ broker: KafkaTarget; topic: string }> => {
      const broker = await open();
      opened.push(broker);
      return { broker, topic: await broker.createTopic(partitions) };
    };
    /** After stop, every partition is committed up to its end. */
    const expectCommittedToEnd = async (queue: KafkaQueue, topic: string) => {
      for (const [partition, end] of await (opened.at(-1) as KafkaTarget).endOffsets(topic)) {
        const offsets = queue.committed().filter((c) => c.partition === partition && c.offset !== undefined);
        expect(offsets.map((c) => c.offset)).toContain(end);
      }
    };

    for (const ordering of ['partition', 'key', 'unordered'] as const) {
      it(`everything pushed is consumed once; ${ordering} order holds under random handler delays; commits reach the end`, async () => {
        const { broker, topic } = await cluster(8);
        const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 5, syncPush: true });
        const total = 4000;
        await Promise.all(Array.from({ length: total }, (_, i) => pusher.pushWithKey(`key-${i % 37}`, String(i))));
        await pusher.close();

        const seen = new Tally();
        const byPartition = new Map<number, number[]>();
        const byKey = new Map<string, number[]>();
        const runningKeys = new Set<string>();
        const runningPartitions = new Set<number>();
        let keyOverlap = 0;
        let partitionOverlap = 0;
        const queue = new KafkaQueue(
          {
            brokers: broker.bootstrap,
            group: `g-${randomUUID()}`,
            topic,
            offset: 'first',
            ordering,
            processors: 16,
            commitIntervalMs: 50,
            maxWaitMs: 50,
          },
          async (m: KafkaMessage) => {
            const key = String(m.key);
            if (runningKeys.has(key)) keyOverlap++;
            if (runningPartitions.has(m.partition)) partitionOverlap++;
            runningKeys.add(key);
            runningPartitions.add(m.partition);
            await jitter();
            runningKeys.delete(key);
            runningPartitions.delete(m.partition);
            const v = String(m.value);
            seen.add(v);
            byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), Number(m.offset)]);
            byKey.set(key, [...(byKey.get(key) ?? []), Number(v)]);
          },
        );
        const done = queue.start();
        await until(() => seen.size === total, 30_000, 'all consumed');
        await queue.stop();
        await done;
        await queue.stop(); // harmless
        expect(seen.duplicates).toBe(0);
        if (ordering === 'partition') {
          expect(partitionOverlap).toBe(0);
          for (const offsets of byPartition.values()) expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
        }
        if (ordering === 'key') {
          expect(keyOverlap).toBe(0);
          for (const values of byKey.values()) expect(values).toEqual([...values].sort((a, b) => a - b));
          expect(partitionOverlap).toBeGreaterThan(0); // keys of one partition ran in parallel
        }
        await expectCommittedToEnd(queue, topic);
      }, 60_000);
    }

    it('retries, then dead-letters to a topic with the cause in headers; forceCommit commits past it', async () => {
      const { broker, topic } = await cluster(2);
      const dlq = await broker.createTopic(1, 'dlq');
      const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 5, syncPush: true });
      await Promise.all(Array.from({ length: 20 }, (_, i) => pusher.pushWithKey(`k${i}`, String(i))));
      await pusher.close();
      const attempts = new Map<string, number>();
      const queue = new KafkaQueue(
        {
          brokers: broker.bootstrap,
          group: `g-${randomUUID()}`,
          topic,
          offset: 'first',
          retry: { attempts: 3, minDelayMs: 1, maxDelayMs: 5 },
          deadLetter: dlq,
          commitIntervalMs: 20,
          maxWaitMs: 50,
          logger: { error() {}, warn() {}, info() {}, debug() {} },
        },
        (m) => {
          const v = String(m.value);
          attempts.set(v, (attempts.get(v) ?? 0) + 1);
          if (v === '7') throw new Error('seven is bad');
        },
      );
      const done = queue.start();
      await until(() => attempts.size === 20 && queue.stats()[0]?.deadLettered === 1, 30_000);
      await queue.stop();
      await done;
      expect(attempts.get('7')).toBe(3);
      const [stored] = await broker.read(dlq, 1);
      expect(stored?.value).toBe('7');
      expect(stored?.key).toBe('k7');
      expect(stored?.headers['x-q-error']).toContain('seven is bad');
      expect(stored?.headers['x-q-attempts']).toBe('3');
      await expectCommittedToEnd(queue, topic);
    }, 60_000);

    it('forceCommit false: the commit point stops at a message that failed for good', async () => {
      const { broker, topic } = await cluster(1);
      const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 5, syncPush: true });
      for (let i = 0; i < 10; i++) await pusher.pushWithKey('same', String(i));
      await pusher.close();
      const handled: string[] = [];
      const queue = new KafkaQueue(
        {
          brokers: broker.bootstrap,
          group: `g-${randomUUID()}`,
          topic,
          offset: 'first',
          forceCommit: false,
          commitIntervalMs: 20,
          maxWaitMs: 50,
          logger: { error() {}, warn() {}, info() {}, debug() {} },
        },
        (m) => {
          handled.push(String(m.value));
          if (String(m.value) === '3') throw new Error('fails for good');
        },
      );
      const done = queue.start();
      await until(() => handled.length === 10);
      await queue.stop();
      await done;
      // Offsets 0-2 settled, 3 failed: the committed offset stays at 3 so it is read again later.
      expect(queue.committed()[0]?.offset).toBe(3n);
    }, 60_000);

    it('back-pressure: under a slow handler, fetched-but-unsettled stays under highWaterMark plus one fetch', async () => {
      const partitions = 2;
      const perSend = 50;
      const { broker, topic } = await cluster(partitions);
      const kafka = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      // One record batch of 50 per send; with maxBytes 1 a fetch brings at most one batch per partition.
      for (let i = 0; i < 40; i++) {
        for (let p = 0; p < partitions; p++) {
          await producer.send({
            topic,
            acks: -1,
            messages: Array.from({ length: perSend }, (_, k) => ({ partition: p, value: `${p}-${i * perSend + k}` })),
          });
        }
      }
      await producer.disconnect();
      const total = 40 * perSend * partitions;
      const highWaterMark = 200;
      const seen = new Tally();
      let maxUnsettled = 0;
      const queue: KafkaQueue = new KafkaQueue(
        {
          brokers: broker.bootstrap,
          group: `g-${randomUUID()}`,
          topic,
          offset: 'first',
          ordering: 'unordered',
          processors: 4,
          minBytes: 1,
          maxBytes: 1,
          maxWaitMs: 20,
          highWaterMark,
          lowWaterMark: 100,
        },
        async (m) => {
          maxUnsettled = Math.max(maxUnsettled, queue.unsettled());
          await delay(1);
          const v = String(m.value);
          seen.add(v);
        },
      );
      const done = queue.start();
      await until(() => seen.size === total, 60_000, 'all consumed');
      await queue.stop();
      await done;
      expect(seen.duplicates).toBe(0);
      expect(maxUnsettled).toBeLessThanOrEqual(highWaterMark + partitions * perSend);
      // The fetcher did outrun the handler: the bound was reached, not trivially met.
      expect(maxUnsettled).toBeGreaterThan(highWaterMark / 2);
      expect(queue.unsettled()).toBe(0);
    }, 90_000);

    it('conns 2: two members in one process share the partitions; everything consumed once', async () => {
      const { broker, topic } = await cluster(4);
      const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 5, syncPush: true });
      const total = 2000;
      await Promise.all(Array.from({ length: total }, (_, i) => pusher.pushWithKey(`k${i % 23}`, String(i))));
      await pusher.close();
      const seen = new Tally();
      const queue = new KafkaQueue(
        {
          brokers: broker.bootstrap,
          group: `g-${randomUUID()}`,
          topic,
          offset: 'first',
          conns: 2,
          commitIntervalMs: 50,
          maxWaitMs: 50,
        },
        async (m) => {
          // Slow enough that the second member joins before the first has read everything.
          await delay(Math.random() < 0.05 ? 1 : 0);
          const v = String(m.value);
          seen.add(v);
        },
      );
      const done = queue.start();
      await until(() => seen.size === total, 60_000, 'all consumed');
      await queue.stop();
      await done;
      expect(seen.duplicates).toBe(0);
      const [a, b] = queue.stats();
      expect((a?.consumed ?? 0) + (b?.consumed ?? 0)).toBe(total);
      expect(a?.consumed).toBeGreaterThan(0);
      expect(b?.consumed).toBeGreaterThan(0);
      await expectCommittedToEnd(queue, topic);
    }, 60_000);
  });
}
