import { randomUUID } from 'node:crypto';
import { ExecutorClosedError } from '@q/core';
import { KafkaPusher } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { silent } from './support/test-constants.js';

const brokers: KafkaTestBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

/** Calls `f` and reports whether it threw synchronously, and what its promise settled to. */
async function outcome(f: () => Promise<void>): Promise<{ threw: boolean; error?: unknown }> {
  let promise: Promise<void>;
  try {
    promise = f();
  } catch (error) {
    return { threw: true, error };
  }
  return promise.then(
    () => ({ threw: false }),
    (error: unknown) => ({ threw: false, error }),
  );
}

// A Pusher's push returns a promise; callers that `.catch()` it (a queue's dead letter, fire-and-forget
// code) must not get a synchronous throw instead, as RedisListPusher never gives one.
describe('KafkaPusher: failures reject, never throw', () => {
  it('after close(), with a bad signal, and when the traceHeaders hook throws', async () => {
    const broker = await startKafkaBroker();
    brokers.push(broker);
    const topic = `rejects-${randomUUID()}`;
    broker.cluster.createTopic(topic, 1);
    const hooked = new KafkaPusher({
      brokers: broker.bootstrap,
      topic,
      logger: silent,
      traceHeaders: () => {
        throw new Error('hook down');
      },
    });
    const hook = await outcome(() => hooked.push('m'));
    expect(hook.threw).toBe(false);
    expect((hook.error as Error).message).toBe('hook down');
    await hooked.close();

    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, logger: silent });
    const badSignal = await outcome(() => pusher.pushAndConfirm('m', { signal: 'nope' as unknown as AbortSignal }));
    expect(badSignal.threw).toBe(false);
    expect(badSignal.error).toBeInstanceOf(Error);
    const malformed = await outcome(() => pusher.push(null as never));
    expect(malformed.threw).toBe(false);
    expect(malformed.error).toBeInstanceOf(TypeError);
    await pusher.close();
    for (const push of [() => pusher.push('m'), () => pusher.pushAndConfirm('m'), () => pusher.kPush('k', 'v')]) {
      const closed = await outcome(push);
      expect(closed.threw).toBe(false);
      expect(closed.error).toBeInstanceOf(ExecutorClosedError);
    }
  });
});
