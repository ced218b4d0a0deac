import { randomUUID } from 'node:crypto';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { silent } from './support/test-constants.js';

const PRODUCE = 0;
const FETCH = 1;
const OFFSET_COMMIT = 8;
const HEARTBEAT = 12;

/**
 * A broker that dies while writing an answer leaves half a frame on the client's socket. kafkajs 2.2.4
 * keeps those bytes in its connection across the reconnect and reads the next connection's answers
 * after them, so every later request to that broker times out: a queue would stop consuming, a pusher
 * stop confirming, for good. The adapter's sockets hand kafkajs whole frames only.
 */
describe('a connection cut in the middle of an answer', () => {
  it('the queue consumes on and the pusher confirms on: every confirmed push is consumed', async () => {
    const broker = await startKafkaBroker();
    const topic = `cut-${randomUUID()}`;
    broker.cluster.createTopic(topic, 2);
    const seen = new Set<string>();
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        offset: 'first',
        commitIntervalMs: 20,
        maxWaitMs: 50,
        requestTimeoutMs: 2000,
        logger: silent,
      },
      (m: KafkaMessage) => void seen.add(String(m.value)),
    );
    const running = queue.start();
    const pusher = new KafkaPusher({
      brokers: broker.bootstrap,
      topic,
      flushIntervalMs: 5,
      syncPush: true,
      requestTimeoutMs: 2000,
      logger: silent,
    });
    const confirmed: string[] = [];
    const push = async (from: number, to: number): Promise<void> => {
      await Promise.all(
        Array.from({ length: to - from }, (_, i) => `m${from + i}`).map((v) =>
          pusher.pushWithKey(v, v).then(
            () => void confirmed.push(v),
            () => {},
          ),
        ),
      );
    };
    try {
      await push(0, 100);
      await until(() => seen.size >= 100, 20_000, 'the first 100 consumed');

      // A fetch answer cut in half: the queue's connection to the broker.
      let fetchCut = false;
      const stopCuttingFetch = broker.dropAfter({ requests: 1, apiKey: FETCH, midResponse: true });
      const watchFetch = broker.onRequest((r) => {
        if (r.apiKey === FETCH) fetchCut = true;
        return undefined;
      });
      await until(() => fetchCut, 10_000, 'a fetch to cut');
      watchFetch();
      stopCuttingFetch();
      await push(100, 200);
      await until(() => seen.size >= 200, 20_000, 'consumed after the fetch answer was cut');

      // A produce answer cut in half: the pusher's connection. The cut batch is stored by the broker
      // but not confirmed (the pusher retries it); the later ones must be confirmed again.
      const stopCuttingProduce = broker.dropAfter({ requests: 1, apiKey: PRODUCE, midResponse: true });
      await push(200, 300);
      stopCuttingProduce();
      await push(300, 400);
      await until(() => confirmed.every((v) => seen.has(v)), 20_000, 'every confirmed push consumed');

      // An offset commit's and a heartbeat's answers cut in half: the connection to the group coordinator.
      const stopCuttingCommit = broker.dropAfter({ requests: 1, apiKey: OFFSET_COMMIT, midResponse: true });
      const stopCuttingHeartbeat = broker.dropAfter({ requests: 1, apiKey: HEARTBEAT, midResponse: true });
      await push(400, 500);
      await until(() => confirmed.every((v) => seen.has(v)), 20_000, 'consumed after the coordinator cuts');
      stopCuttingCommit();
      stopCuttingHeartbeat();
      const admin = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.disconnect();
      const end = ends.reduce((n, p) => n + Number(p.offset), 0);
      const committed = () => queue.committed().reduce((n, c) => n + Number(c.offset ?? 0n), 0);
      await until(() => committed() === end, 20_000, 'commits reaching the end of the topic');
    } finally {
      await queue.stop();
      await running;
      await pusher.close();
      await broker.stop();
    }
    // Everything after the produce cut is confirmed; before it, everything was.
    for (let i = 0; i < 500; i++) if (i < 200 || i >= 300) expect(confirmed).toContain(`m${i}`);
    expect(confirmed.filter((v) => !seen.has(v))).toEqual([]);
  }, 90_000);
});
