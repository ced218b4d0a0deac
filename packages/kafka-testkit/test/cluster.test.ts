import { randomUUID } from 'node:crypto';
import { ErrorCode, PartitionLog, parseBatches, startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { buildBatch } from './support/batches.js';

describe('partition log: idempotent producer state', () => {
  it('a retried batch gets its original offset back; a gap is OUT_OF_ORDER; an old epoch is refused', () => {
    const log = new PartitionLog();
    const batch = (sequence: number, count: number, epoch = 0) => {
      const parsed = parseBatches(buildBatch({ producerId: 7n, epoch, sequence, count }));
      if (typeof parsed === 'string') throw new Error(parsed);
      return parsed[0] as NonNullable<(typeof parsed)[0]>;
    };
    expect(log.append(batch(0, 3))).toEqual({ baseOffset: 0n });
    expect(log.append(batch(3, 2))).toEqual({ baseOffset: 3n });
    expect(log.append(batch(0, 3))).toEqual({ baseOffset: 0n }); // duplicate of the first
    expect(log.append(batch(3, 2))).toEqual({ baseOffset: 3n });
    expect(log.endOffset).toBe(5n);
    expect(log.append(batch(9, 1))).toEqual({ error: 'out-of-order' });
    expect(log.append(batch(0, 1, 1))).toEqual({ baseOffset: 5n }); // new epoch restarts at 0
    expect(log.append(batch(5, 1, 0))).toEqual({ error: 'invalid-epoch' });
    expect(log.read(4n, 1 << 20).length).toBe(2);
  });
});

describe('multi-broker behaviour', () => {
  it('leaders are spread; moving a leader gives NOT_LEADER and kafkajs follows it; moving the coordinator too', async () => {
    const broker = await startKafkaBroker({ brokers: 3 });
    const topic = `moves-${randomUUID()}`;
    broker.cluster.createTopic(topic, 6);
    const leaders = new Set(broker.cluster.topics.get(topic)?.map((p) => p.leader));
    expect(leaders.size).toBe(3);
    const notLeader: number[] = [];
    broker.onRequest((r) => {
      if (r.apiKey === 0) notLeader.push(r.brokerId);
      return undefined;
    });
    const kafka = new Kafka({
      brokers: broker.bootstrap,
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 50 },
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'before' }], acks: -1 });
    const p0 = broker.cluster.partition(topic, 0);
    const from = p0?.leader as number;
    const to = (from + 1) % 3;
    broker.cluster.moveLeader(topic, 0, to);
    const before = notLeader.length;
    const [result] = await producer.send({ topic, messages: [{ value: 'after', partition: 0 }], acks: -1 });
    expect(result?.errorCode).toBe(0);
    // The first attempt went to the old leader and was refused, the retry to the new one.
    expect(notLeader.slice(before)).toContain(to);
    expect(p0?.log.endOffset).toBeGreaterThanOrEqual(1n);

    const groupId = `g-${randomUUID()}`;
    broker.cluster.moveCoordinator(groupId, 2);
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
    const deadline = Date.now() + 20_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(got.sort()).toEqual(['after', 'before']);
    expect(broker.cluster.coordinatorOf(groupId)).toBe(2);
    await consumer.disconnect();
    await producer.disconnect();
    await broker.stop();
  }, 60_000);

  it('stop() releases a long-polling fetch at once; a restarted broker keeps its data', async () => {
    const broker = await startKafkaBroker({ topics: ['longpoll'] });
    const kafka = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'longpoll', messages: [{ value: 'kept' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, maxWaitTimeInMs: 30_000 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'longpoll', fromBeginning: true });
    let got = 0;
    await consumer.run({ eachMessage: async () => void got++ });
    while (got < 1) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100)); // now long-polling for 30 s
    const t0 = Date.now();
    await broker.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    await broker.restart();
    expect(broker.cluster.partition('longpoll', 0)?.log.endOffset).toBe(1n);
    await consumer.disconnect().catch(() => {});
    await broker.stop();
    expect(ErrorCode.NOT_LEADER_OR_FOLLOWER).toBe(6);
  }, 60_000);
});
