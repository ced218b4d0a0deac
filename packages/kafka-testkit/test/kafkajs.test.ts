import { randomUUID } from 'node:crypto';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { CompressionTypes, type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';

const brokers: KafkaTestBroker[] = [];
const consumers: Consumer[] = [];
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.disconnect().catch(() => {})));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

async function start(
  count: number,
  topics: { name: string; partitions: number }[] = [],
): Promise<{ kafka: Kafka; broker: KafkaTestBroker }> {
  const broker = await startKafkaBroker({ brokers: count, topics });
  brokers.push(broker);
  const kafka = new Kafka({
    clientId: 'test',
    brokers: broker.bootstrap,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 50 },
  });
  return { kafka, broker };
}

for (const count of [1, 3]) {
  describe(`kafkajs 2.2.4 against ${count} broker(s)`, () => {
    it('admin createTopics and fetchTopicOffsets; producers plain, gzip, idempotent; a group consumer reads all', async () => {
      const { kafka } = await start(count);
      const topic = `t-${randomUUID()}`;
      const admin = kafka.admin();
      await admin.connect();
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
      const plain = kafka.producer();
      const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await plain.connect();
      await idempotent.connect();
      const sent: string[] = [];
      for (let i = 0; i < 30; i++) {
        const messages = Array.from({ length: 10 }, (_, k) => ({
          key: `k${(i * 10 + k) % 7}`,
          value: `v${i * 10 + k}`,
        }));
        sent.push(...messages.map((m) => m.value));
        const producer = i % 3 === 2 ? idempotent : plain;
        await producer.send({
          topic,
          messages,
          acks: -1,
          compression: i % 3 === 1 ? CompressionTypes.GZIP : CompressionTypes.None,
        });
      }
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(300);
      const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, sessionTimeout: 6000, heartbeatInterval: 500 });
      consumers.push(consumer);
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const got: string[] = [];
      await consumer.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
      await until(() => got.length >= 300);
      expect(got.sort()).toEqual([...sent].sort());
      await plain.disconnect();
      await idempotent.disconnect();
      await admin.disconnect();
    }, 60_000);
  });
}
