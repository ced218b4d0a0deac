import { randomUUID } from 'node:crypto';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, outcomeWithin, until } from '../../../test-support/wait.js';
import { TOPIC_AUTHORIZATION_FAILED } from './support/kafka-errors.js';
import { clientSockets, portOf } from './support/sockets.js';
import { fastGroup, silent } from './support/test-constants.js';

const METADATA = 3;

let broker: KafkaTestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

/** A fresh broker with m0..m{count-1} on a one-partition topic. */
async function seeded(count: number): Promise<{ broker: KafkaTestBroker; topic: string }> {
  broker = await startKafkaBroker();
  const topic = `failed-start-${randomUUID()}`;
  broker.cluster.createTopic(topic, 1);
  const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, logger: silent });
  for (let i = 0; i < count; i++) await pusher.pushAndConfirm({ key: null, value: Buffer.from(`m${i}`) });
  await pusher.close();
  return { broker, topic };
}

/** Producer and consumer loops still running over all members. */
function loops(queue: KafkaQueue): number {
  return queue.stats().reduce((n, s) => n + s.producers + s.consumers, 0);
}

// A member's subscribe fails for good (the broker refuses the topic's metadata): start() rejected,
// and before it did, the member queues, commit timers and clients it had started ran on until a
// stop() nobody had a reason to call.
describe('KafkaQueue whose start() failed', () => {
  it('a subscribe refused for good: start() rejects with nothing left running (loops, sockets), and stop() still resolves', async () => {
    const { broker: b, topic } = await seeded(3);
    const port = portOf(b.bootstrap);
    b.injectError({ apiKey: METADATA, errorCode: TOPIC_AUTHORIZATION_FAILED, topic, times: Number.POSITIVE_INFINITY });
    const queue = new KafkaQueue(
      { brokers: b.bootstrap, group: `g-${randomUUID()}`, topic, maxWaitMs: 50, ...fastGroup, logger: silent },
      () => {},
    );
    const error = await queue.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(loops(queue)).toBe(0);
    expect(clientSockets(port)).toBe(0);
    expect(await outcomeWithin(queue.stop(), 5000)).toBe('resolved');
  }, 60_000);

  it('one of two members fails to subscribe: the other, still joining, is stopped too (no handler call after start() rejected)', async () => {
    const { broker: b, topic } = await seeded(20);
    const port = portOf(b.bootstrap);
    // Only the first Metadata request naming the topic: one member fails, the other subscribes.
    b.injectError({ apiKey: METADATA, errorCode: TOPIC_AUTHORIZATION_FAILED, topic, times: 1 });
    let calls = 0;
    const queue = new KafkaQueue(
      {
        brokers: b.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        offset: 'first',
        conns: 2,
        maxWaitMs: 50,
        stopTimeoutMs: 2000,
        ...fastGroup,
        logger: silent,
      },
      async (_m: KafkaMessage) => {
        calls++;
        // Slow enough that the 20 messages outlast the failed start.
        await delay(200);
      },
    );
    const error = await queue.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const after = calls;
    await delay(1500);
    // Before the fix: about 7 calls in these 1.5 s, 18 loops and 5 client sockets left.
    expect({ callsAfter: calls - after, loops: loops(queue) }).toEqual({ callsAfter: 0, loops: 0 });
    await until(() => clientSockets(port) === 0, 5000, `no client sockets (left ${clientSockets(port)})`);
    expect(await outcomeWithin(queue.stop(), 5000)).toBe('resolved');
  }, 60_000);
});
