// Review of issue #17: queue.expired().deadLettered must count every expired record written to the
// dead-letter topic with reason "expired", also the ones the Queue's own dead-letter path wrote
// after the expiry push outlasted the handler timeoutMs (docs/kafka.md, "TTL: ttlMs and lazy expiry").
import { randomUUID } from 'node:crypto';
import { DEATH_HEADER, EXPIRES_AT_HEADER, readDeaths } from '@q/core';
import { KafkaPusher, KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { silent } from './support/test-constants.js';

const brokers: KafkaTestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

describe('KafkaQueue.expired(): expired records dead-lettered by the Queue path', () => {
  it('counts an expired record the Queue dead-lettered after its expiry push timed out', async () => {
    const b = await startKafkaBroker();
    brokers.push(b);
    const topic = `src-${randomUUID()}`;
    const dlq = `dlq-${randomUUID()}`;
    b.cluster.createTopic(topic, 1);
    const pusher = new KafkaPusher({ brokers: b.bootstrap, topic, flushIntervalMs: 1, logger: silent });
    const past = String(Date.now() - 1000);
    await pusher.pushBatch(
      Array.from({ length: 5 }, (_, i) => ({
        key: Buffer.from('k'),
        value: Buffer.from(String(i)),
        headers: i === 2 ? { [EXPIRES_AT_HEADER]: past } : {},
      })),
    );
    await pusher.close();
    const handled: string[] = [];
    const queue = new KafkaQueue(
      {
        brokers: b.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        offset: 'first',
        ordering: 'unordered',
        deadLetter: dlq,
        // The expiry push to the missing topic outlasts the timeout: one failed attempt, then the
        // Queue's own dead-letter path (retried until the topic exists).
        timeoutMs: 200,
        retry: { attempts: 1 },
        deadLetterBackoff: { minDelayMs: 10, maxDelayMs: 50 },
        commitIntervalMs: 20,
        maxWaitMs: 50,
        logger: silent,
      },
      (m) => {
        handled.push(String(m.value));
      },
    );
    const running = queue.start();
    try {
      await until(() => handled.length === 4, 20_000, 'the 4 live records handled');
      await delay(600);
      b.cluster.createTopic(dlq, 1);
      await until(() => (b.cluster.partition(dlq, 0)?.log.endOffset ?? 0n) >= 1n, 20_000, 'the dead letter');
      await until(() => queue.stats()[0]?.deadLettered === 1, 5_000, 'settled as dead-lettered');
    } finally {
      await queue.stop();
      await running;
    }
    const [letter] = await readDlq(b, dlq);
    // The letter says expired...
    expect(readDeaths(letter?.headers?.[DEATH_HEADER] as Buffer)[0]?.reason).toBe('expired');
    // ...but the queue's own expiry count does not know it (observed: 0).
    expect(queue.expired()).toEqual({ deadLettered: 1, skipped: 0 });
  }, 40_000);
});

async function readDlq(b: KafkaTestBroker, dlq: string) {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ brokers: b.bootstrap, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `r-${randomUUID()}`, maxWaitTimeInMs: 50 });
  const got: { headers?: Record<string, unknown> }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: dlq, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message as never) });
  await until(() => got.length >= 1, 10_000, 'read the DLQ');
  await consumer.disconnect();
  return got;
}
