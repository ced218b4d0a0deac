import { randomUUID } from 'node:crypto';
import { ConfirmAbortedError } from '@q/core';
import { KafkaPusher } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { outcomeWithin } from '../../../test-support/wait.js';
import { API } from './support/kafka-errors.js';
import { silent } from './support/test-constants.js';

let broker: KafkaTestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

describe('KafkaPusher.pushAndConfirm with a signal', () => {
  it('a Produce held up by the broker: the aborted confirm rejects at once; the rest of its chunk is acknowledged', async () => {
    broker = await startKafkaBroker();
    const b = broker;
    const topic = `confirm-abort-${randomUUID()}`;
    b.cluster.createTopic(topic, 1);
    const pusher = new KafkaPusher({ brokers: b.bootstrap, topic, flushIntervalMs: 5, logger: silent });
    await pusher.pushAndConfirm('warm-up'); // connected: what follows waits only for its Produce
    // Held long enough that "at once" below has room on a slow CI machine and still means before the Produce answers.
    const held = b.delay({ ms: 5000, apiKey: API.PRODUCE });
    const controller = new AbortController();
    const a = pusher.pushAndConfirm('a');
    const aborted = pusher.pushAndConfirm('b', { signal: controller.signal });
    const c = pusher.pushAndConfirm({ key: null, value: Buffer.from('c') });
    expect(await outcomeWithin(Promise.race([a, aborted, c]), 200)).toBe('pending');
    const reason = new Error('the caller gave up');
    const abortedAt = performance.now();
    controller.abort(reason);
    const error = await aborted.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(error).toBeInstanceOf(ConfirmAbortedError);
    expect((error as ConfirmAbortedError).code).toBe('Q_CONFIRM_ABORTED');
    expect((error as ConfirmAbortedError).cause).toBe(reason);
    expect(await outcomeWithin(Promise.all([a, c]), 50)).toBe('pending');
    expect(await outcomeWithin(Promise.all([a, c]), 10_000)).toBe('resolved');
    held();
    // The aborted message went with its chunk (warm-up, a, b, c): its outcome was unknown to its caller, not lost.
    expect(b.cluster.partition(topic, 0)?.log.endOffset).toBe(4n);
    await pusher.close();
  }, 30_000);

  it('syncPush: push takes the signal too; already aborted, nothing is sent', async () => {
    broker = await startKafkaBroker();
    const b = broker;
    const topic = `confirm-abort-${randomUUID()}`;
    b.cluster.createTopic(topic, 1);
    const pusher = new KafkaPusher({ brokers: b.bootstrap, topic, flushIntervalMs: 1, syncPush: true, logger: silent });
    await expect(pusher.push('gone', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ConfirmAbortedError);
    await expect(pusher.flush({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ConfirmAbortedError);
    await pusher.push('kept', { signal: new AbortController().signal });
    await pusher.close();
    expect(b.cluster.partition(topic, 0)?.log.endOffset).toBe(1n);
  }, 30_000);
});
