import { randomUUID } from 'node:crypto';
import { type KafkaMessage, KafkaQueue } from '@q/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Tally } from './support/tally.js';
import { kafkaTargets } from './support/target.js';
import { silent } from './support/test-constants.js';

for (const { name, open } of kafkaTargets()) {
  describe(`KafkaQueue: a partition paused for back-pressure, revoked and assigned again (${name})`, () => {
    it('resumes: after another member joins and leaves, new messages on every partition are consumed', async () => {
      const broker = await open();
      const partitions = 2;
      const topic = await broker.createTopic(partitions, 'paused');
      const kafka = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      // One send per partition: one record batch, fetched whole.
      const send = async (prefix: string, count: number) => {
        for (let p = 0; p < partitions; p++) {
          const messages = Array.from({ length: count }, (_, i) => ({ partition: p, value: `${prefix}-${p}-${i}` }));
          await producer.send({ topic, acks: -1, messages });
        }
      };
      const group = `g-${randomUUID()}`;
      const config = {
        brokers: broker.bootstrap,
        group,
        topic,
        offset: 'first' as const,
        commitIntervalMs: 20,
        maxWaitMs: 50,
        sessionTimeoutMs: 3000,
        rebalanceTimeoutMs: 3000,
        heartbeatIntervalMs: 100,
        logger: silent,
      };
      const old = 20;
      await send('old', old);

      // A holds every message until the gate opens, so it stays above its high-water mark (5) and
      // pauses every partition it fetched from.
      let openGate = () => {};
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const seenByA = new Tally();
      const a = new KafkaQueue({ ...config, highWaterMark: 5, lowWaterMark: 2 }, async (m: KafkaMessage) => {
        await gate;
        seenByA.add(String(m.value));
      });
      const runningA = a.start();
      await until(() => a.unsettled() === old * partitions, 30_000, 'A fetched both partitions and paused them');

      // B joins (taking one partition from A) and, once it has read that partition, leaves.
      const seenByB = new Tally();
      const b = new KafkaQueue(config, (m: KafkaMessage) => void seenByB.add(String(m.value)));
      const runningB = b.start();
      await until(() => seenByB.size === old, 30_000, 'B read the partition it took');
      openGate();
      await b.stop();
      await runningB;

      // A owns every partition again: what is written now must all reach it.
      const fresh = 10;
      await send('new', fresh);
      const newOn = (p: number) => Array.from({ length: fresh }, (_, i) => `new-${p}-${i}`);
      // On a timeout the assertions below name what is missing.
      await until(
        () => [0, 1].every((p) => newOn(p).every((v) => seenByA.has(v))),
        20_000,
        'A consuming the new messages of every partition',
      ).catch(() => {});
      await a.stop();
      await runningA;
      await producer.disconnect();
      await broker.close();
      for (let p = 0; p < partitions; p++) {
        expect(newOn(p).filter((v) => !seenByA.has(v))).toEqual([]);
        // Nothing old was lost on the way: each old message reached A or B.
        const oldOn = Array.from({ length: old }, (_, i) => `old-${p}-${i}`);
        expect(oldOn.filter((v) => !seenByA.has(v) && !seenByB.has(v))).toEqual([]);
      }
      expect(seenByB.size).toBe(old);
      expect(seenByB.duplicates).toBe(0);
    }, 90_000);
  });
}
