import { randomUUID } from 'node:crypto';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { SocketRegistry } from '../src/socket-registry.js';
import { pushConfirmed } from './support/confirmed-pushes.js';
import { silent } from './support/test-constants.js';

const PRODUCE = 0;
const FETCH = 1;
const LIST_OFFSETS = 2;
const OFFSET_COMMIT = 8;
const HEARTBEAT = 12;

/**
 * Cuts the next answer of `apiKey` in half, and returns once a request of that key was seen after the
 * cut was armed (so the cut has happened), with the cut removed.
 */
async function cutOnce(broker: KafkaTestBroker, apiKey: number, what: string): Promise<void> {
  const stopCutting = broker.dropAfter({ requests: 1, apiKey, midResponse: true });
  let asked = false;
  const watch = broker.onRequest((r) => {
    if (r.apiKey === apiKey) asked = true;
    return undefined;
  });
  try {
    await until(() => asked, 10_000, `a request to cut (${what})`);
  } finally {
    watch();
    stopCutting();
  }
}

/**
 * A broker that dies while writing an answer leaves half a frame on the client's socket. kafkajs 2.2.4
 * keeps those bytes in its connection across the reconnect and reads the next connection's answers
 * after them, so every later request on that connection times out: a group's commits and heartbeats,
 * an admin client's requests, for good. The adapter's sockets hand kafkajs whole frames only.
 */
describe('a connection cut in the middle of an answer', () => {
  it('a kafkajs admin client on the adapter’s sockets answers again at once after a cut ListOffsets answer', async () => {
    const broker = await startKafkaBroker();
    broker.cluster.createTopic('t', 3);
    const sockets = new SocketRegistry();
    const admin = new Kafka({
      brokers: broker.bootstrap,
      logLevel: logLevel.NOTHING,
      socketFactory: sockets.factory,
      requestTimeout: 1000,
      retry: { retries: 2, initialRetryTime: 50 },
    }).admin();
    try {
      await admin.connect();
      expect(await admin.fetchTopicOffsets('t')).toHaveLength(3);
      const stopCutting = broker.dropAfter({ requests: 1, apiKey: LIST_OFFSETS, midResponse: true });
      // The cut request fails (or is retried by kafkajs); either way the next ones must be answered.
      await admin.fetchTopicOffsets('t').catch(() => undefined);
      stopCutting();
      for (let i = 0; i < 3; i++) expect(await admin.fetchTopicOffsets('t')).toHaveLength(3);
    } finally {
      sockets.destroy();
      await admin.disconnect().catch(() => undefined);
      await broker.stop();
    }
  }, 30_000);

  it('the queue consumes and commits on and the pusher confirms on: every confirmed push is consumed', async () => {
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
        heartbeatIntervalMs: 100,
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
    const push = (from: number, to: number): Promise<void> =>
      pushConfirmed(
        pusher,
        Array.from({ length: to - from }, (_, i) => `m${from + i}`),
        confirmed,
      );
    const allConsumed = () => confirmed.every((v) => seen.has(v));
    try {
      await push(0, 100);
      await until(() => seen.size >= 100, 20_000, 'the first 100 consumed');

      await cutOnce(broker, FETCH, 'fetch');
      await push(100, 200);
      await until(() => seen.size >= 200, 20_000, 'consumed after the fetch answer was cut');

      // The cut batch is stored by the broker but not confirmed (the pusher retries it).
      const producing = push(200, 300);
      await cutOnce(broker, PRODUCE, 'produce');
      await producing;
      await push(300, 400);
      await until(allConsumed, 20_000, 'every confirmed push consumed after the produce answer was cut');

      // The group coordinator's connection: kafkajs reconnects the same connection object here.
      // A commit is only sent when there is something new to commit: push while the cut is armed.
      const commitCut = cutOnce(broker, OFFSET_COMMIT, 'offset commit');
      await push(400, 450);
      await commitCut;
      await cutOnce(broker, HEARTBEAT, 'heartbeat');
      await push(450, 500);
      await until(allConsumed, 20_000, 'consumed after the coordinator answers were cut');
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
    // Everything outside the produce cut's 100 was confirmed.
    for (let i = 0; i < 500; i++) if (i < 200 || i >= 300) expect(confirmed).toContain(`m${i}`);
    expect(confirmed.filter((v) => !seen.has(v))).toEqual([]);
  }, 90_000);
});
