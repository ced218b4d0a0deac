import { randomUUID } from 'node:crypto';
import { ErrorCode, startKafkaBroker } from '@q/kafka-testkit';
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

async function setup(brokers: number, partitions: number) {
  const broker = await startKafkaBroker({ brokers });
  cleanup.push(() => broker.stop());
  const kafka = new Kafka({
    clientId: 'groups',
    brokers: broker.bootstrap,
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 },
  });
  const topic = `t-${randomUUID()}`;
  broker.cluster.createTopic(topic, partitions);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  cleanup.push(() => producer.disconnect());
  return { broker, kafka, topic, producer };
}

function consumer(kafka: Kafka, groupId: string): Consumer {
  const c = kafka.consumer({
    groupId,
    sessionTimeout: 3000,
    rebalanceTimeout: 3000,
    heartbeatInterval: 100,
    maxWaitTimeInMs: 100,
  });
  cleanup.push(() => c.disconnect());
  return c;
}

async function send(producer: Producer, topic: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 50) {
    const messages = Array.from({ length: Math.min(50, to - i) }, (_, k) => ({
      key: `k${i + k}`,
      value: String(i + k),
    }));
    await producer.send({ topic, messages, acks: -1 });
  }
}

describe('consumer groups with kafkajs', () => {
  it('eachBatch with manual commits; pause, resume and seek', async () => {
    const { kafka, topic, producer } = await setup(1, 2);
    await send(producer, topic, 0, 200);
    const groupId = `g-${randomUUID()}`;
    const c = consumer(kafka, groupId);
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    const seen: number[] = [];
    let paused = false;
    await c.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const m of batch.messages) {
          seen.push(Number(m.value));
          resolveOffset(m.offset);
        }
        await c.commitOffsets([{ topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }]);
        await heartbeat();
      },
    });
    await until(() => seen.length >= 200, 30_000, '200 messages');
    c.pause([{ topic }]);
    paused = true;
    await send(producer, topic, 200, 220);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.length).toBe(200);
    c.resume([{ topic }]);
    paused = false;
    await until(() => seen.length >= 220, 30_000, 'after resume');
    c.seek({ topic, partition: 0, offset: '0' });
    const before = seen.length;
    await until(() => seen.length > before, 30_000, 'after seek');
    expect(paused).toBe(false);
    const admin = kafka.admin();
    await admin.connect();
    cleanup.push(() => admin.disconnect());
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const total = committed[0]?.partitions.reduce((n, p) => n + Number(p.offset), 0);
    expect(total).toBeGreaterThanOrEqual(220);
    const described = await c.describeGroup();
    expect(described.state).toBe('Stable');
    expect(described.members).toHaveLength(1);
  }, 60_000);

  it('a group going 1 -> 3 -> 1 members while consuming loses nothing', async () => {
    const { kafka, topic, producer } = await setup(3, 6);
    const groupId = `g-${randomUUID()}`;
    const seen = new Map<number, number>();
    const members: Consumer[] = [];
    const join = async (): Promise<Consumer> => {
      const c = consumer(kafka, groupId);
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        eachMessage: async ({ message }) =>
          void seen.set(Number(message.value), (seen.get(Number(message.value)) ?? 0) + 1),
      });
      members.push(c);
      return c;
    };
    await join();
    await send(producer, topic, 0, 300);
    await until(() => seen.size >= 100, 30_000, 'first member consuming');
    await join();
    await join();
    await send(producer, topic, 300, 600);
    await until(() => seen.size >= 450, 30_000, 'three members consuming');
    await members[1]?.disconnect();
    await members[2]?.disconnect();
    await send(producer, topic, 600, 900);
    await until(() => seen.size === 900, 30_000, 'all 900 after going back to one member');
    const missing = Array.from({ length: 900 }, (_, i) => i).filter((i) => !seen.has(i));
    expect(missing).toEqual([]);
  }, 90_000);

  it('coordinator errors: an injected REBALANCE_IN_PROGRESS on Heartbeat makes the member rejoin', async () => {
    const { broker, kafka, topic, producer } = await setup(1, 1);
    const c = consumer(kafka, `g-${randomUUID()}`);
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    const seen = new Set<number>();
    let joins = 0;
    c.on(c.events.GROUP_JOIN, () => joins++);
    await c.run({ eachMessage: async ({ message }) => void seen.add(Number(message.value)) });
    await send(producer, topic, 0, 50);
    await until(() => seen.size === 50);
    broker.injectError({ apiKey: 12, errorCode: ErrorCode.REBALANCE_IN_PROGRESS });
    await until(() => joins >= 2, 20_000, 'a second join');
    await send(producer, topic, 50, 100);
    await until(() => seen.size === 100);
  }, 60_000);
});
