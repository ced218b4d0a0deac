import { randomUUID } from 'node:crypto';
import { ConfirmAbortedError, formatOutboxId, OUTBOX_ID_HEADER, parseOutboxId } from '@q/core';
import { KafkaPusher, KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.js';
import { until } from '../../../test-support/wait.js';
import { routedKafkajsClient } from '../src/kafkajs-client.js';
import { API, TOPIC_AUTHORIZATION_FAILED } from './support/kafka-errors.js';
import { portOf } from './support/sockets.js';
import { Tally } from './support/tally.js';
import { silent } from './support/test-constants.js';

const { PRODUCE } = API;
const PARTITIONS = 2;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Outbox `ob`'s messages `from`..`to`, as `@q/outbox` hands them to its sink (keyed: a stable partition). */
function batch(from: number, to: number) {
  return Array.from({ length: to - from + 1 }, (_, i) => {
    const seq = from + i;
    return {
      key: Buffer.from(`k${seq % 5}`),
      value: Buffer.from(`m${seq}`),
      headers: { [OUTBOX_ID_HEADER]: formatOutboxId('ob', seq) },
    };
  });
}

/**
 * A broker, and a pusher whose every connection goes through a loopback TCP proxy (the broker's
 * advertised address is routed there too), with the Produce requests counted at the broker.
 */
async function setup(idempotent: boolean): Promise<{
  broker: KafkaTestBroker;
  proxy: TcpProxy;
  pusher: KafkaPusher;
  topic: string;
}> {
  const broker = await startKafkaBroker();
  cleanup.push(() => broker.stop());
  const topic = `outbox-${randomUUID()}`;
  broker.cluster.createTopic(topic, PARTITIONS);
  const brokerPort = portOf(broker.bootstrap);
  const proxy = await startTcpProxy({ port: brokerPort });
  cleanup.push(() => proxy.close());
  const pusher = new KafkaPusher({
    brokers: [`${proxy.host}:${proxy.port}`],
    topic,
    idempotent,
    // pushBatch must not split a batch by these: 100 messages are ten chunks for push().
    maxBatchMessages: 10,
    logger: silent,
    client: routedKafkajsClient((to) => (to.port === brokerPort ? { host: proxy.host, port: proxy.port } : to)),
  });
  cleanup.push(() => pusher.close({ timeoutMs: 2000 }));
  return { broker, proxy, pusher, topic };
}

/**
 * Once the first Produce reached the broker, its answer is lost: the proxy cuts the connection as the
 * reply comes back (the broker wrote the batch). Resolves when that happened.
 */
function loseFirstProduceAnswer(broker: KafkaTestBroker, proxy: TcpProxy, topic: string): Promise<void> {
  let armed = true;
  return new Promise((resolve) => {
    const remove = broker.onRequest((r) => {
      if (r.apiKey !== PRODUCE || !armed) return undefined;
      armed = false;
      remove();
      // Before the broker handles the request: its reply is the next data from the broker with the topic.
      void proxy.dropNextReply((chunk) => chunk.includes(topic)).then(resolve);
      return undefined;
    });
  });
}

const stored = (broker: KafkaTestBroker, topic: string): number => {
  let n = 0n;
  for (let p = 0; p < PARTITIONS; p++) n += broker.cluster.partition(topic, p)?.log.endOffset ?? 0n;
  return Number(n);
};

/**
 * Consumes the topic from the start with `dedupe: 'outbox-id'` until 200 distinct messages were handled
 * and every stored record was either handled or dropped; checks 1..200 came once each, in order per
 * partition, and returns how many replays were dropped.
 */
async function consumeAll(broker: KafkaTestBroker, topic: string): Promise<number> {
  const total = stored(broker, topic);
  const seen = new Tally();
  const byPartition = new Map<number, number[]>();
  const queue = new KafkaQueue(
    {
      brokers: broker.bootstrap,
      group: `g-${randomUUID()}`,
      topic,
      offset: 'first',
      dedupe: 'outbox-id',
      commitIntervalMs: 20,
      maxWaitMs: 50,
      logger: silent,
    },
    (m) => {
      const id = parseOutboxId(String(m.headers[OUTBOX_ID_HEADER]));
      if (id === undefined) throw new Error('a message without its outbox id');
      seen.add(String(id.seq));
      byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), id.seq]);
    },
  );
  const running = queue.start();
  try {
    await until(
      () => seen.size + seen.duplicates + queue.duplicatesDropped() >= total,
      20_000,
      'every stored record handled or dropped',
    );
  } finally {
    await queue.stop();
    await running;
  }
  expect(seen.duplicates).toBe(0);
  for (let seq = 1; seq <= 200; seq++) expect(seen.has(String(seq)), `message ${seq}`).toBe(true);
  expect(seen.size).toBe(200);
  // A lower id never came after a higher one of its partition (it would have been dropped).
  for (const seqs of byPartition.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(queue.duplicatesDropped()).toBe(total - 200);
  return queue.duplicatesDropped();
}

describe('a retried batch never lets a lower id arrive first and be wrongly dropped', () => {
  for (const idempotent of [false, true]) {
    it(`idempotent: ${idempotent}: batch A's answer is lost and its retry inside the client refused, so the pusher rejects; A again whole, then B: 1..200 once each`, async () => {
      const { broker, proxy, pusher, topic } = await setup(idempotent);
      const lost = loseFirstProduceAnswer(broker, proxy, topic);
      // The client's own retry of A (after it reconnects) is refused for good: the push fails.
      let refuse: (() => void) | undefined;
      void lost.then(() => {
        refuse = broker.injectError({ apiKey: PRODUCE, errorCode: TOPIC_AUTHORIZATION_FAILED, times: Infinity });
      });
      await expect(pusher.pushBatch(batch(1, 100))).rejects.toThrow(/authoriz/i);
      expect(proxy.droppedReplies).toBe(1);
      refuse?.();
      // The outcome was unknown to the caller, but the broker has A.
      expect(stored(broker, topic)).toBe(100);
      await pusher.pushBatch(batch(1, 100));
      await pusher.pushBatch(batch(101, 200));
      const dropped = await consumeAll(broker, topic);
      // Without idempotence A is in the log twice and the consumer drops the second copy; with it the
      // broker recognized the retried sequence numbers and wrote A once.
      expect({ stored: stored(broker, topic), dropped }).toEqual(
        idempotent ? { stored: 200, dropped: 0 } : { stored: 300, dropped: 100 },
      );
    }, 40_000);

    it(`idempotent: ${idempotent}: the caller gives up on A (signal) while the client retries it; A again whole queues behind that send, then B: 1..200 once each`, async () => {
      const { broker, proxy, pusher, topic } = await setup(idempotent);
      const lost = loseFirstProduceAnswer(broker, proxy, topic);
      const giveUp = new AbortController();
      void lost.then(() => giveUp.abort(new Error('no answer')));
      await expect(pusher.pushBatch(batch(1, 100), { signal: giveUp.signal })).rejects.toBeInstanceOf(
        ConfirmAbortedError,
      );
      await pusher.pushBatch(batch(1, 100));
      await pusher.pushBatch(batch(101, 200));
      const dropped = await consumeAll(broker, topic);
      // The client's own retry wrote A a second time unless the broker de-duplicated it by sequence;
      // the caller's retry is a new send either way.
      expect({ stored: stored(broker, topic), dropped }).toEqual(
        idempotent ? { stored: 300, dropped: 100 } : { stored: 400, dropped: 200 },
      );
    }, 40_000);

    it(`idempotent: ${idempotent}: the broker refuses A on one partition and writes the other: A again whole, then B: 1..200 once each`, async () => {
      const { broker, pusher, topic } = await setup(idempotent);
      // One partition's error, once: the other partition's part of the same request is written.
      broker.injectError({ apiKey: PRODUCE, errorCode: TOPIC_AUTHORIZATION_FAILED, topic, partition: 1 });
      await expect(pusher.pushBatch(batch(1, 100))).rejects.toThrow(/authoriz/i);
      const written = stored(broker, topic);
      expect(written).toBe(Number(broker.cluster.partition(topic, 0)?.log.endOffset));
      expect(written).toBeGreaterThan(0);
      await pusher.pushBatch(batch(1, 100));
      await pusher.pushBatch(batch(101, 200));
      // Partition 1's part of A was not written before the retry: none of it may be taken for a replay.
      await consumeAll(broker, topic);
    }, 40_000);
  }
});
