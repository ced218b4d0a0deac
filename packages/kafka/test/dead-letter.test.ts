import { randomUUID } from 'node:crypto';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { API, CLUSTER_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED } from './support/kafka-errors.js';
import { Tally } from './support/tally.js';
import { readTopic } from './support/target.js';
import { silent } from './support/test-constants.js';

const brokers: KafkaTestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

const TOTAL = 10;
const FAILING = ['3', '6'];

/**
 * Runs a queue over TOTAL messages of one partition whose handler fails FAILING for good, with a
 * dead-letter destination that cannot take them until `repair()`; checks that meanwhile they are
 * neither counted as dead-lettered nor committed, and that afterwards they are in the dead-letter
 * topic, each once, and the commit reaches the end.
 */
async function deadLetterOutage(
  broker: KafkaTestBroker,
  setUp: (dlq: string) => { deadLetter: string | KafkaPusher; repair: () => void },
): Promise<void> {
  const topic = `source-${randomUUID()}`;
  const dlq = `dlq-${randomUUID()}`;
  broker.cluster.createTopic(topic, 1);
  broker.cluster.createTopic(dlq, 1);
  const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, syncPush: true });
  for (let i = 0; i < TOTAL; i++) await pusher.pushWithKey(`k${i}`, String(i));
  await pusher.close();
  const { deadLetter, repair } = setUp(dlq);
  const group = `g-${randomUUID()}`;
  const handled = new Tally();
  const queue = new KafkaQueue(
    {
      brokers: broker.bootstrap,
      group,
      topic,
      offset: 'first',
      deadLetter: deadLetter as never,
      commitIntervalMs: 20,
      maxWaitMs: 50,
      logger: silent,
    },
    (m: KafkaMessage) => {
      const v = String(m.value);
      handled.add(v);
      if (FAILING.includes(v)) throw new Error(`${v} fails for good`);
    },
  );
  let deadLetterErrors = 0;
  queue.queues[0]?.on('error', (_error, info) => {
    if (info.stage === 'dead-letter') deadLetterErrors++;
  });
  const running = queue.start();
  // (Or a message counted as dead-lettered although nothing could be written: the assertions below fail.)
  await until(
    () => deadLetterErrors >= 2 || (queue.stats()[0]?.deadLettered ?? 0) > 0,
    30_000,
    'dead-letter pushes failing',
  );
  // Several commit intervals pass while the dead letter cannot be written.
  await delay(200);
  const committed = () => broker.cluster.groups.committed(group, topic, 0)?.offset ?? 0n;
  expect(committed()).toBeLessThanOrEqual(3n);
  expect(queue.stats()[0]?.deadLettered).toBe(0);
  expect(broker.cluster.partition(dlq, 0)?.log.endOffset).toBe(0n);

  repair();
  await until(() => queue.stats()[0]?.deadLettered === FAILING.length, 30_000, 'dead letters written');
  await until(() => handled.size === TOTAL, 30_000, 'every message handled');
  await queue.stop();
  await running;
  if (deadLetter instanceof KafkaPusher) await deadLetter.close();
  expect(broker.cluster.partition(dlq, 0)?.log.endOffset).toBe(BigInt(FAILING.length));
  const kafka = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
  const records = await readTopic(kafka, dlq, FAILING.length);
  expect(records.map((r) => r.value)).toEqual(FAILING);
  expect(records.map((r) => r.headers['x-q-error'])).toEqual(FAILING.map((v) => `${v} fails for good`));
  expect(committed()).toBe(BigInt(TOTAL));
  expect(handled.duplicates).toBe(0);
}

describe('KafkaQueue dead letters are committed only once the destination confirmed them', () => {
  it("deadLetter: '<topic>' refused by the broker, then accepted", async () => {
    const broker = await startKafkaBroker();
    brokers.push(broker);
    await deadLetterOutage(broker, (dlq) => ({
      deadLetter: dlq,
      repair: broker.injectError({
        apiKey: API.PRODUCE,
        errorCode: TOPIC_AUTHORIZATION_FAILED,
        topic: dlq,
        times: Number.POSITIVE_INFINITY,
      }),
    }));
  }, 60_000);

  it('a dead-letter KafkaPusher whose connect fails, then succeeds; syncPush off', async () => {
    const broker = await startKafkaBroker();
    brokers.push(broker);
    await deadLetterOutage(broker, (dlq) => ({
      // Not syncPush: push resolves on buffering, so only pushAndConfirm can tell the queue the truth.
      deadLetter: new KafkaPusher({
        brokers: broker.bootstrap,
        topic: dlq,
        idempotent: true,
        flushIntervalMs: 1,
        reconnect: { attempts: 1 },
        logger: silent,
      }),
      repair: broker.injectError({
        apiKey: API.INIT_PRODUCER_ID,
        errorCode: CLUSTER_AUTHORIZATION_FAILED,
        times: Number.POSITIVE_INFINITY,
      }),
    }));
  }, 60_000);

  it('stopped while the dead letter still fails: nothing is committed past it; the next member dead-letters it', async () => {
    const broker = await startKafkaBroker();
    brokers.push(broker);
    const topic = `source-${randomUUID()}`;
    const dlq = `dlq-${randomUUID()}`;
    broker.cluster.createTopic(topic, 1);
    broker.cluster.createTopic(dlq, 1);
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, syncPush: true });
    for (let i = 0; i < TOTAL; i++) await pusher.pushWithKey(`k${i}`, String(i));
    await pusher.close();
    const repair = broker.injectError({
      apiKey: API.PRODUCE,
      errorCode: TOPIC_AUTHORIZATION_FAILED,
      topic: dlq,
      times: Number.POSITIVE_INFINITY,
    });
    const group = `g-${randomUUID()}`;
    const handled = new Tally();
    const member = () =>
      new KafkaQueue(
        {
          brokers: broker.bootstrap,
          group,
          topic,
          offset: 'first',
          deadLetter: dlq,
          commitIntervalMs: 20,
          maxWaitMs: 50,
          logger: silent,
        },
        (m: KafkaMessage) => {
          const v = String(m.value);
          handled.add(v);
          if (FAILING.includes(v)) throw new Error(`${v} fails for good`);
        },
      );
    const committed = () => broker.cluster.groups.committed(group, topic, 0)?.offset ?? 0n;
    const first = member();
    let deadLetterErrors = 0;
    first.queues[0]?.on('error', (_error, info) => {
      if (info.stage === 'dead-letter') deadLetterErrors++;
    });
    const running = first.start();
    await until(() => deadLetterErrors >= 1, 30_000, 'a dead-letter push failing');
    await first.stop({ timeoutMs: 300 });
    await running;
    expect(first.stats()[0]?.deadLettered).toBe(0);
    expect(committed()).toBe(3n);

    repair();
    const second = member();
    const runningSecond = second.start();
    await until(() => second.stats()[0]?.deadLettered === FAILING.length, 30_000, 'dead letters written');
    await until(() => committed() === BigInt(TOTAL), 30_000, 'committed to the end');
    await second.stop();
    await runningSecond;
    const kafka = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
    expect((await readTopic(kafka, dlq, FAILING.length)).map((r) => r.value)).toEqual(FAILING);
    expect(broker.cluster.partition(dlq, 0)?.log.endOffset).toBe(BigInt(FAILING.length));
    expect(handled.size).toBe(TOTAL);
  }, 60_000);
});
