import { randomUUID } from 'node:crypto';
import { type KafkaClientFactory, type KafkaMessage, KafkaPusher, KafkaQueue, kafkajsClient } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { API } from './support/kafka-errors.js';
import { clientSockets, portOf } from './support/sockets.js';
import { fastGroup, silent } from './support/test-constants.js';

// What a stop may take beyond its deadline on a loaded 2-core machine: the final commit and leave
// get at least 1 s (see KafkaQueue.stop), plus scheduling slack.
const SLACK_MS = 1500 + 1000;

let broker: KafkaTestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

/** A fresh broker with `count` keyed messages m0..m{count-1} on a one-partition topic. */
async function seeded(count: number): Promise<{ broker: KafkaTestBroker; topic: string }> {
  broker = await startKafkaBroker();
  const topic = `stop-${randomUUID()}`;
  broker.cluster.createTopic(topic, 1);
  const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, logger: silent });
  await Promise.all(
    Array.from({ length: count }, (_, i) => pusher.pushAndConfirm({ key: null, value: Buffer.from(`m${i}`) })),
  );
  await pusher.close();
  return { broker, topic };
}

/** Times `stop` and returns how long it took. */
async function timed(stop: () => Promise<void>): Promise<number> {
  const start = Date.now();
  await stop();
  return Date.now() - start;
}

/** Reads the group's topic again with a healthy queue until `count` distinct values were seen. */
async function readAll(b: KafkaTestBroker, topic: string, group: string, count: number, seen: Set<string>) {
  const queue = new KafkaQueue(
    {
      brokers: b.bootstrap,
      group,
      topic,
      offset: 'first',
      maxWaitMs: 50,
      commitIntervalMs: 20,
      ...fastGroup,
      logger: silent,
    },
    (m: KafkaMessage) => void seen.add(String(m.value)),
  );
  const run = queue.start();
  await until(() => seen.size >= count, 30_000, `${count} distinct messages (have ${seen.size})`);
  await queue.stop();
  await run;
}

// A member that vanished without leaving is dropped from the group after this.

describe('KafkaQueue.stop releases everything and keeps its deadline', () => {
  it('stopped 0, 50 and 100 ms after start, no client socket is left (and every message is read after)', async () => {
    const { broker: b, topic } = await seeded(30);
    const port = portOf(b.bootstrap);
    const group = `g-${randomUUID()}`;
    for (const delayMs of [0, 50, 100]) {
      const queue = new KafkaQueue(
        { brokers: b.bootstrap, group, topic, offset: 'first', conns: 2, maxWaitMs: 50, logger: silent },
        async () => {},
      );
      const run = queue.start();
      await delay(delayMs);
      await queue.stop({ timeoutMs: 200 });
      await run;
      // An admin request still under way when stop disconnected its client used to reconnect it
      // afterwards: those sockets stayed open for good.
      await until(
        () => clientSockets(port) === 0,
        5000,
        `no client sockets ${delayMs} ms (left ${clientSockets(port)})`,
      ).catch((error: Error) => {
        throw new Error(
          `stopped ${delayMs} ms after start: ${clientSockets(port)} client sockets left (${error.message})`,
        );
      });
    }
    const seen = new Set<string>();
    await readAll(b, topic, `g-${randomUUID()}`, 30, seen);
    expect(seen.size).toBe(30);
    await until(() => clientSockets(port) === 0, 5000, 'no client sockets after the last queue');
  }, 60_000);

  it('a hanging offset-map read does not hold stop({ timeoutMs: 500 }) up; nothing is lost', async () => {
    const { broker: b, topic } = await seeded(20);
    const group = `g-${randomUUID()}`;
    const client: KafkaClientFactory = {
      producer: kafkajsClient.producer,
      groupConsumer(connection, o) {
        const inner = kafkajsClient.groupConsumer(connection, o);
        inner.fetchCommitted = () => new Promise(() => {});
        return inner;
      },
    };
    let handled = 0;
    const queue = new KafkaQueue(
      { brokers: b.bootstrap, group, topic, offset: 'first', maxWaitMs: 50, client, logger: silent },
      () => void handled++,
    );
    const run = queue.start();
    await delay(1500);
    const took = await timed(async () => {
      await queue.stop({ timeoutMs: 500 });
      await run;
    });
    expect(took).toBeLessThan(500 + SLACK_MS);
    const seen = new Set<string>();
    await readAll(b, topic, group, 20, seen);
    expect(seen.size).toBe(20);
  }, 60_000);

  it('a broker that stops answering: stop({ timeoutMs: 500 }) resolves within ~2.5 s, sockets closed, nothing lost', async () => {
    const { broker: b, topic } = await seeded(20);
    const group = `g-${randomUUID()}`;
    const seen = new Set<string>();
    const queue = new KafkaQueue(
      {
        brokers: b.bootstrap,
        group,
        topic,
        offset: 'first',
        maxWaitMs: 50,
        commitIntervalMs: 50,
        ...fastGroup,
        logger: silent,
      },
      async (m: KafkaMessage) => {
        seen.add(String(m.value));
        // Slow enough that the 500 ms drain leaves messages unhandled: they must come back.
        await delay(100);
      },
    );
    const run = queue.start();
    await until(() => seen.size >= 3, 30_000, 'three messages handled');
    const removeHole = b.blackHole();
    const took = await timed(async () => {
      await queue.stop({ timeoutMs: 500 });
      await run;
    });
    expect(took).toBeLessThan(500 + SLACK_MS);
    expect(seen.size).toBeLessThan(20);
    // The member gave up on the broker: it must not keep connections (or reconnect) afterwards.
    const port = portOf(b.bootstrap);
    await until(() => clientSockets(port) === 0, 5000, `no client sockets (left ${clientSockets(port)})`);
    removeHole();
    // What was not committed is read again by the next member (the old one is dropped by session timeout).
    await readAll(b, topic, group, 20, seen);
    expect(seen.size).toBe(20);
  }, 90_000);

  it('a dead-letter topic that never answers: stop({ timeoutMs: 500 }) resolves in time; the failed message is read again', async () => {
    const { broker: b, topic } = await seeded(10);
    const dlq = `dlq-${randomUUID()}`;
    b.cluster.createTopic(dlq, 1);
    const removeHole = b.blackHole({ apiKey: API.PRODUCE });
    const group = `g-${randomUUID()}`;
    const seen = new Set<string>();
    const queue = new KafkaQueue(
      {
        brokers: b.bootstrap,
        group,
        topic,
        offset: 'first',
        deadLetter: dlq,
        commitIntervalMs: 20,
        maxWaitMs: 50,
        ...fastGroup,
        logger: silent,
      },
      (m: KafkaMessage) => {
        seen.add(String(m.value));
        if (String(m.value) === 'm3') throw new Error('fails');
      },
    );
    queue.queues[0]?.on('error', () => {});
    const run = queue.start();
    await until(() => seen.has('m3'), 30_000, 'm3 handled');
    await delay(300);
    const took = await timed(async () => {
      await queue.stop({ timeoutMs: 500 });
      await run;
    });
    expect(took).toBeLessThan(500 + SLACK_MS);
    removeHole();
    // The dead-letter write was never confirmed: m3 was not committed past, the next reader gets it.
    const again = new Set<string>();
    await readAll(b, topic, group, 7, again);
    expect(again.has('m3')).toBe(true);
    const port = portOf(b.bootstrap);
    await until(() => clientSockets(port) === 0, 5000, `no client sockets (left ${clientSockets(port)})`);
  }, 90_000);

  it("a dead-letter pusher passed in is the caller's: stop leaves it open", async () => {
    const { broker: b, topic } = await seeded(5);
    const dlq = `dlq-${randomUUID()}`;
    b.cluster.createTopic(dlq, 1);
    const pusher = new KafkaPusher({ brokers: b.bootstrap, topic: dlq, flushIntervalMs: 1, logger: silent });
    const seen = new Set<string>();
    const queue = new KafkaQueue(
      {
        brokers: b.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        offset: 'first',
        deadLetter: pusher,
        maxWaitMs: 50,
        logger: silent,
      },
      (m: KafkaMessage) => {
        seen.add(String(m.value));
        if (String(m.value) === 'm1') throw new Error('fails');
      },
    );
    const run = queue.start();
    await until(() => seen.size === 5 && queue.stats()[0]?.deadLettered === 1, 30_000, 'all handled, m1 dead-lettered');
    await queue.stop();
    await run;
    await pusher.pushAndConfirm('still open');
    await pusher.close();
    const { endOffsets } = { endOffsets: b.cluster.partition(dlq, 0)?.log.endOffset };
    expect(endOffsets).toBe(2n);
  }, 60_000);
});
