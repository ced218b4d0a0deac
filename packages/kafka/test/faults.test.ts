import { randomUUID } from 'node:crypto';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { ErrorCode, startKafkaBroker } from '@q/kafka-testkit';
import { describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { pushConfirmed } from './support/confirmed-pushes.js';
import { kafkaTargets } from './support/target.js';
import { silent } from './support/test-constants.js';

for (const { name, open } of kafkaTargets()) {
  describe(`KafkaQueue under group changes (${name})`, () => {
    // With a low high-water mark partitions are paused after nearly every fetch, so some are paused
    // when they are revoked and assigned again.
    for (const highWaterMark of [undefined, 20]) {
      it(`a group going 1 -> 3 -> 1 members during consumption loses nothing (highWaterMark ${highWaterMark ?? 'default'})`, async () => {
        const broker = await open(3);
        const topic = await broker.createTopic(6, 'grow');
        const group = `g-${randomUUID()}`;
        const seen = new Set<string>();
        const member = () =>
          new KafkaQueue(
            {
              brokers: broker.bootstrap,
              group,
              topic,
              offset: 'first',
              commitIntervalMs: 20,
              maxWaitMs: 50,
              sessionTimeoutMs: 3000,
              rebalanceTimeoutMs: 3000,
              heartbeatIntervalMs: 100,
              ...(highWaterMark === undefined ? {} : { highWaterMark, lowWaterMark: 5 }),
              logger: silent,
            },
            async (m: KafkaMessage) => {
              // Slow enough (with the low mark) that partitions are paused when the group changes.
              if (highWaterMark !== undefined) await delay(1);
              seen.add(String(m.value));
            },
          );
        const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 5, syncPush: true });
        const push = (from: number, to: number) =>
          Promise.all(Array.from({ length: to - from }, (_, i) => pusher.pushWithKey(`k${from + i}`, `m${from + i}`)));
        const first = member();
        const runs = [first.start()];
        await push(0, 1000);
        await until(() => seen.size >= 300, 30_000, 'first member');
        const second = member();
        const third = member();
        runs.push(second.start(), third.start());
        await push(1000, 2000);
        await until(() => seen.size >= 1500, 30_000, 'three members');
        await second.stop();
        await third.stop();
        await push(2000, 3000);
        await until(() => seen.size === 3000, 30_000, 'back to one member');
        await first.stop();
        await Promise.all(runs);
        await pusher.close();
        await broker.close();
        expect(seen.size).toBe(3000);
      }, 90_000);
    }
  });
}

describe('KafkaQueue under faults (testkit only: they are injected through it)', () => {
  it('broker restart, dropped connections and injected errors mid-run: confirmed pushes all arrive', async () => {
    const broker = await startKafkaBroker();
    const topic = `faulty-${randomUUID()}`;
    broker.cluster.createTopic(topic, 4);
    const seen = new Set<string>();
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        offset: 'first',
        commitIntervalMs: 20,
        maxWaitMs: 50,
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 200,
        requestTimeoutMs: 3000,
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
      idempotent: true,
      requestTimeoutMs: 3000,
      logger: silent,
    });
    const confirmed: string[] = [];
    let stop = false;
    const pushing = (async () => {
      for (let i = 0; !stop; i++) {
        await pushConfirmed(
          pusher,
          Array.from({ length: 20 }, (_, k) => `m${i * 20 + k}`),
          confirmed,
        );
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await wait(300);
    await broker.restart();
    await wait(300);
    broker.dropConnections();
    await wait(300);
    broker.injectError({ apiKey: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, times: 2 });
    broker.injectError({ apiKey: 1, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    broker.injectError({ apiKey: 8, errorCode: ErrorCode.REBALANCE_IN_PROGRESS });
    await wait(500);
    stop = true;
    await pushing;
    await until(() => confirmed.every((v) => seen.has(v)), 60_000, 'every confirmed push consumed');
    await queue.stop();
    await running;
    await pusher.close();
    await broker.stop();
    expect(confirmed.length).toBeGreaterThan(100);
    expect(confirmed.filter((v) => !seen.has(v))).toEqual([]);
  }, 90_000);

  it('stop drains and commits; no timers or sockets are left behind', async () => {
    await new Promise((r) => setTimeout(r, 20));
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const broker = await startKafkaBroker();
    const topic = `drain-${randomUUID()}`;
    broker.cluster.createTopic(topic, 2);
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 5, syncPush: true });
    await Promise.all(Array.from({ length: 500 }, (_, i) => pusher.pushWithKey(`k${i}`, String(i))));
    await pusher.close();
    let handled = 0;
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        offset: 'first',
        commitIntervalMs: 60_000,
        maxWaitMs: 50,
      },
      async () => {
        await new Promise((r) => setTimeout(r, 1));
        handled++;
      },
    );
    const running = queue.start();
    await until(() => handled >= 100);
    await queue.stop();
    await running;
    // The commit interval is a minute: what was handled got committed by stop itself.
    const committed = queue.committed().reduce((n, c) => n + Number(c.offset ?? 0n), 0);
    expect(committed).toBe(handled);
    await broker.stop();
    await new Promise((r) => setTimeout(r, 50));
    const after = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    expect(after).toBeLessThanOrEqual(before);
  }, 60_000);
});
