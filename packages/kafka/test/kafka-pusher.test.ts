import { randomUUID } from 'node:crypto';
import { type KafkaClientFactory, KafkaPusher, kafkajsClient, WriteAbandonedError } from '@q/kafka';
import { ErrorCode, type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { API, CLUSTER_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED } from './support/kafka-errors.js';
import { silent } from './support/test-constants.js';

// An InitProducerId refused as unauthorized makes an idempotent producer's connect reject at once.
const { INIT_PRODUCER_ID, PRODUCE } = API;

const brokers: KafkaTestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

async function brokerWithTopic(): Promise<{ broker: KafkaTestBroker; topic: string }> {
  const broker = await startKafkaBroker();
  brokers.push(broker);
  const topic = `pusher-${randomUUID()}`;
  broker.cluster.createTopic(topic, 1);
  return { broker, topic };
}

/** How many records partition 0 of `topic` holds (its end offset, from the testkit's log). */
function stored(broker: KafkaTestBroker, topic: string): bigint {
  return broker.cluster.partition(topic, 0)?.log.endOffset ?? -1n;
}

describe('KafkaPusher connection', () => {
  it('a failed first connect does not break it: later pushes connect again and arrive', async () => {
    const { broker, topic } = await brokerWithTopic();
    broker.injectError({ apiKey: INIT_PRODUCER_ID, errorCode: CLUSTER_AUTHORIZATION_FAILED, times: 1 });
    const pusher = new KafkaPusher({
      brokers: broker.bootstrap,
      topic,
      idempotent: true,
      syncPush: true,
      flushIntervalMs: 1,
      reconnect: { attempts: 1 },
      logger: silent,
    });
    await expect(pusher.push('refused')).rejects.toThrow(/authorization/i);
    const values = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const results = await Promise.allSettled(values.map((v) => pusher.push(v)));
    await pusher.close();
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(stored(broker, topic)).toBe(10n);
  }, 30_000);

  it('retries a failing connect with back-off within one push', async () => {
    const { broker, topic } = await brokerWithTopic();
    let refusals = 0;
    broker.onRequest((r) => {
      if (r.apiKey === INIT_PRODUCER_ID) refusals++;
      return undefined;
    });
    broker.injectError({ apiKey: INIT_PRODUCER_ID, errorCode: CLUSTER_AUTHORIZATION_FAILED, times: 2 });
    const pusher = new KafkaPusher({
      brokers: broker.bootstrap,
      topic,
      idempotent: true,
      syncPush: true,
      flushIntervalMs: 1,
      reconnect: { attempts: 3, minDelayMs: 10, maxDelayMs: 20 },
      logger: silent,
    });
    await pusher.push('after two refusals');
    await pusher.close();
    expect(refusals).toBe(3);
    expect(stored(broker, topic)).toBe(1n);
  }, 30_000);

  it('close() cuts the reconnect back-off short; what could not be written is rejected, not dropped', async () => {
    const { broker, topic } = await brokerWithTopic();
    broker.injectError({
      apiKey: INIT_PRODUCER_ID,
      errorCode: CLUSTER_AUTHORIZATION_FAILED,
      times: Number.POSITIVE_INFINITY,
    });
    const pusher = new KafkaPusher({
      brokers: broker.bootstrap,
      topic,
      idempotent: true,
      syncPush: true,
      flushIntervalMs: 1,
      reconnect: { attempts: 100, minDelayMs: 60_000, jitter: false },
      logger: silent,
    });
    let outcome: string | undefined;
    const pushed = pusher.push('never').then(
      () => (outcome = 'resolved'),
      () => (outcome = 'rejected'),
    );
    await delay(300);
    expect(outcome).toBeUndefined(); // still retrying, not failed at the first refusal
    const started = Date.now();
    await pusher.close();
    await pushed;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome).toBe('rejected');
    expect(stored(broker, topic)).toBe(0n);
  }, 30_000);
});

describe('KafkaPusher.pushAndConfirm', () => {
  it('resolves only once the broker has the message, though syncPush is off', async () => {
    const { broker, topic } = await brokerWithTopic();
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, logger: silent });
    await pusher.push('warm-up'); // connected, so the refusals below hit the produce itself
    await until(() => stored(broker, topic) === 1n, 10_000, 'warm-up stored');
    // Retriable refusals: the client retries the write for a while before the broker takes it.
    broker.injectError({ apiKey: PRODUCE, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, topic, times: 3 });
    let storedAtConfirm = -1n;
    const unconfirmed = pusher.push('plain');
    const confirmed = pusher
      .pushAndConfirm({ key: Buffer.from('k'), value: Buffer.from('confirmed') }, { attempts: 2 })
      .then(() => (storedAtConfirm = stored(broker, topic)));
    await unconfirmed;
    // Not written yet: push resolved on buffering only.
    expect(stored(broker, topic)).toBe(1n);
    await confirmed;
    expect(storedAtConfirm).toBe(3n);
    await pusher.close();
  }, 30_000);

  it('rejects when the write fails, though syncPush is off', async () => {
    const { broker, topic } = await brokerWithTopic();
    const errors: unknown[] = [];
    const pusher = new KafkaPusher({
      brokers: broker.bootstrap,
      topic,
      flushIntervalMs: 1,
      onError: (error) => void errors.push(error),
      logger: silent,
    });
    broker.injectError({ apiKey: PRODUCE, errorCode: TOPIC_AUTHORIZATION_FAILED, topic });
    await expect(pusher.pushAndConfirm('refused')).rejects.toThrow(/authoriz/i);
    await pusher.pushAndConfirm('accepted');
    await pusher.close();
    expect(errors).toHaveLength(1);
    expect(stored(broker, topic)).toBe(1n);
  }, 30_000);
});

describe('KafkaPusher batches', () => {
  it('small messages go out in sends of at most maxBatchMessages; keys count toward chunkBytes', async () => {
    const { broker, topic } = await brokerWithTopic();
    const sends: number[] = [];
    // The real kafkajs client, with each send's size written down on its way through.
    const client: KafkaClientFactory = {
      ...kafkajsClient,
      producer(connection, options) {
        const producer = kafkajsClient.producer(connection, options);
        return {
          connect: () => producer.connect(),
          disconnect: () => producer.disconnect(),
          destroy: () => producer.destroy?.(),
          send(t, messages, o) {
            sends.push(messages.length);
            return producer.send(t, messages, o);
          },
        };
      },
    };
    const capped = new KafkaPusher({ brokers: broker.bootstrap, topic, client, maxBatchMessages: 500, logger: silent });
    for (let i = 0; i < 2_000; i++) await capped.push('x');
    await capped.close();
    expect(sends).toEqual([500, 500, 500, 500]);
    // 1-byte values with ~25-byte keys: 4,000 bytes of values alone would fit one 64 KiB chunk.
    sends.length = 0;
    const sized = new KafkaPusher({ brokers: broker.bootstrap, topic, client, chunkBytes: 4_000, logger: silent });
    for (let i = 0; i < 1_000; i++) await sized.push('x');
    await sized.close();
    // Each message costs at least its value and 20 bytes of framing, plus its key.
    expect(sends.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...sends)).toBeLessThan(4_000 / 21);
    expect(sends.reduce((a, b) => a + b, 0)).toBe(1_000);
    expect(stored(broker, topic)).toBe(3_000n);
  }, 30_000);
});

describe('KafkaPusher close({ timeoutMs }) against a broker that stopped answering', () => {
  it('every write under way or queued rejects with WriteAbandonedError right after close gives up', async () => {
    const { broker, topic } = await brokerWithTopic();
    const pusher = new KafkaPusher({
      brokers: broker.bootstrap,
      topic,
      flushIntervalMs: 1,
      maxBatchMessages: 1,
      logger: silent,
    });
    await pusher.pushAndConfirm('warm');
    broker.blackHole({ apiKey: PRODUCE });
    const outcomes = Array.from({ length: 5 }, (_, i) =>
      pusher.pushAndConfirm(`m${i}`).then(
        () => 'stored',
        (e: unknown) => (e instanceof WriteAbandonedError ? 'abandoned' : String(e)),
      ),
    );
    await delay(200);
    await pusher.close({ timeoutMs: 300 });
    const settled = await Promise.race([Promise.all(outcomes), delay(3_000).then(() => 'still pending')]);
    expect(settled).toEqual(['abandoned', 'abandoned', 'abandoned', 'abandoned', 'abandoned']);
  }, 30_000);
});
