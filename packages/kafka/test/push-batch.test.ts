import { randomUUID } from 'node:crypto';
import { ConfirmAbortedError, formatOutboxId, OUTBOX_ID_HEADER } from '@q/core';
import { KafkaPusher, MessageTooLargeError } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { API, TOPIC_AUTHORIZATION_FAILED } from './support/kafka-errors.js';
import { readTopic } from './support/target.js';
import { silent } from './support/test-constants.js';

const { PRODUCE } = API;

const brokers: KafkaTestBroker[] = [];
const pushers: KafkaPusher[] = [];
afterEach(async () => {
  await Promise.all(pushers.splice(0).map((p) => p.close({ timeoutMs: 2000 })));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

/** A broker with a one-partition topic, and a count of the Produce requests it received. */
async function setup(): Promise<{ broker: KafkaTestBroker; topic: string; produces: () => number }> {
  const broker = await startKafkaBroker();
  brokers.push(broker);
  const topic = `batch-${randomUUID()}`;
  broker.cluster.createTopic(topic, 1);
  let produces = 0;
  broker.onRequest((r) => {
    if (r.apiKey === PRODUCE) produces++;
    return undefined;
  });
  return { broker, topic, produces: () => produces };
}

function pusherFor(
  broker: KafkaTestBroker,
  topic: string,
  options: Partial<ConstructorParameters<typeof KafkaPusher>[0]> = {},
): KafkaPusher {
  const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, logger: silent, ...options });
  pushers.push(pusher);
  return pusher;
}

/** An outbox message as `@q/outbox` hands it to a sink. */
function outboxMessage(outbox: string, seq: number, bytes?: number) {
  const body = Buffer.from(bytes === undefined ? `${outbox}-${seq}` : 'x'.repeat(bytes));
  return { key: Buffer.from(`k${seq % 3}`), value: body, headers: { [OUTBOX_ID_HEADER]: formatOutboxId(outbox, seq) } };
}

const stored = (broker: KafkaTestBroker, topic: string): bigint =>
  broker.cluster.partition(topic, 0)?.log.endOffset ?? -1n;

const read = (broker: KafkaTestBroker, topic: string, count: number) =>
  readTopic(new Kafka({ clientId: 'q-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING }), topic, count);

describe('KafkaPusher.pushBatch', () => {
  it('writes the whole batch in one Produce, in order, though it is over maxBatchMessages and chunkBytes', async () => {
    const { broker, topic, produces } = await setup();
    const pusher = pusherFor(broker, topic, { maxBatchMessages: 10, chunkBytes: 1024, flushIntervalMs: 60_000 });
    const batch = Array.from({ length: 250 }, (_, i) => outboxMessage('ob', i + 1, 40));
    await pusher.pushBatch(batch);
    // Resolved means acknowledged: the records are in the log now.
    expect(stored(broker, topic)).toBe(250n);
    expect(produces()).toBe(1);
    const records = await read(broker, topic, 250);
    expect(records.map((r) => r.headers[OUTBOX_ID_HEADER])).toEqual(batch.map((m) => m.headers[OUTBOX_ID_HEADER]));
  });

  it('goes after the messages pushed before it and still buffered: it never overtakes them', async () => {
    const { broker, topic, produces } = await setup();
    // The buffer would wait a minute for its interval: only pushBatch's flush sends it.
    const pusher = pusherFor(broker, topic, { flushIntervalMs: 60_000 });
    const earlier = Array.from({ length: 5 }, (_, i) => pusher.push(`pushed-${i}`));
    await Promise.all(earlier);
    expect(stored(broker, topic)).toBe(0n);
    const batch = Array.from({ length: 20 }, (_, i) => outboxMessage('ob', i + 1));
    await pusher.pushBatch(batch);
    expect(stored(broker, topic)).toBe(25n);
    expect(produces()).toBe(2);
    const values = (await read(broker, topic, 25)).map((r) => r.value);
    expect(values).toEqual([
      ...Array.from({ length: 5 }, (_, i) => `pushed-${i}`),
      ...batch.map((m) => String(m.value)),
    ]);
  });

  it('a message over maxMessageBytes rejects the batch naming it, and nothing of the batch is sent', async () => {
    const { broker, topic, produces } = await setup();
    const pusher = pusherFor(broker, topic, { maxMessageBytes: 100 });
    const batch = [
      outboxMessage('ob', 1, 10),
      outboxMessage('ob', 2, 10),
      outboxMessage('ob', 3, 101),
      outboxMessage('ob', 4, 10),
    ];
    const error = await pusher.pushBatch(batch).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({ code: 'Q_MESSAGE_TOO_LARGE', index: 2, id: 'ob:3', bytes: 101, limit: 100 });
    expect(String((error as Error).message)).toContain('q-outbox-id ob:3');
    // The pusher works on, and the refused batch never reached the broker.
    await pusher.pushBatch([outboxMessage('ob', 5, 10)]);
    expect(stored(broker, topic)).toBe(1n);
    expect(produces()).toBe(1);
  });

  it('rejects when the broker refuses the write; the next batch is written', async () => {
    const { broker, topic } = await setup();
    const pusher = pusherFor(broker, topic);
    await pusher.pushBatch([outboxMessage('ob', 1)]); // connected, metadata known
    broker.injectError({ apiKey: PRODUCE, errorCode: TOPIC_AUTHORIZATION_FAILED, topic, partition: 0 });
    await expect(pusher.pushBatch([outboxMessage('ob', 2), outboxMessage('ob', 3)])).rejects.toThrow(/authoriz/i);
    expect(stored(broker, topic)).toBe(1n);
    await pusher.pushBatch([outboxMessage('ob', 2), outboxMessage('ob', 3)]);
    expect(stored(broker, topic)).toBe(3n);
  });

  it('info.signal ends the wait at once; the send goes on and the batch is written; aborted at the call, nothing is sent', async () => {
    const { broker, topic, produces } = await setup();
    const pusher = pusherFor(broker, topic);
    const aborted = new AbortController();
    aborted.abort(new Error('gave up before'));
    await expect(pusher.pushBatch([outboxMessage('ob', 1)], { signal: aborted.signal })).rejects.toBeInstanceOf(
      ConfirmAbortedError,
    );
    expect(produces()).toBe(0);

    const held = broker.delay({ ms: 1500, apiKey: PRODUCE });
    const controller = new AbortController();
    const pushed = pusher.pushBatch([outboxMessage('ob', 1), outboxMessage('ob', 2)], { signal: controller.signal });
    await until(() => produces() === 1, 10_000, 'the Produce at the broker');
    const started = Date.now();
    controller.abort(new Error('caller timeout'));
    await expect(pushed).rejects.toBeInstanceOf(ConfirmAbortedError);
    expect(Date.now() - started).toBeLessThan(1000);
    held();
    await pusher.flush(); // waits for the send under way: one at a time
    await until(() => stored(broker, topic) === 2n, 10_000, 'the batch written anyway');
  });

  it('idempotent: true: batches are written once each, in order', async () => {
    const { broker, topic } = await setup();
    const pusher = pusherFor(broker, topic, { idempotent: true });
    for (let b = 0; b < 5; b++) {
      await pusher.pushBatch(Array.from({ length: 10 }, (_, i) => outboxMessage('ob', b * 10 + i + 1)));
    }
    expect(stored(broker, topic)).toBe(50n);
    const ids = (await read(broker, topic, 50)).map((r) => r.headers[OUTBOX_ID_HEADER]);
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => `ob:${i + 1}`));
  });

  it('an empty batch resolves without a send; a batch after close() rejects', async () => {
    const { broker, topic, produces } = await setup();
    const pusher = pusherFor(broker, topic);
    await pusher.pushBatch([]);
    expect(produces()).toBe(0);
    await pusher.close();
    await expect(pusher.pushBatch([outboxMessage('ob', 1)])).rejects.toMatchObject({ code: 'Q_EXECUTOR_CLOSED' });
  });
});
