import { randomUUID } from 'node:crypto';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { outcomeWithin, until } from '../../../test-support/wait.js';
import { fastGroup, JOIN_GROUP, silent } from './support/test-constants.js';

// The final commit and leave get at least 1 s (FINAL_MS), plus slack for a loaded 2-core machine.
const FINAL_AND_SLACK_MS = 1000 + 1500;

let broker: KafkaTestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

// Queue.stop() of @q/core promises it: "calling it again returns the same promise (a shorter
// `timeoutMs` still applies)"; KafkaQueue.stop() kept the first, longer deadline.
describe('KafkaQueue.stop called again with a shorter timeoutMs', () => {
  it('stop({ timeoutMs: 60000 }) then stop({ timeoutMs: 50 }): both end by the shorter deadline; the blocked message is redone', async () => {
    broker = await startKafkaBroker();
    const topic = `second-stop-${randomUUID()}`;
    broker.cluster.createTopic(topic, 1);
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, logger: silent });
    for (let i = 0; i < 5; i++) await pusher.pushAndConfirm({ key: null, value: Buffer.from(`m${i}`) });
    await pusher.close();
    const group = `g-${randomUUID()}`;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group,
        topic,
        offset: 'first',
        maxWaitMs: 50,
        commitIntervalMs: 20,
        ...fastGroup,
        logger: silent,
      },
      async (m: KafkaMessage) => {
        handled.push(String(m.value));
        // m0 blocks until released, ignoring its signal: only the stop deadline ends its wait.
        if (String(m.value) === 'm0') await released;
      },
    );
    const run = queue.start();
    try {
      await until(() => handled.includes('m0'), 30_000, 'm0 in the handler');
      const first = queue.stop({ timeoutMs: 60_000 });
      const started = Date.now();
      const second = queue.stop({ timeoutMs: 50 });
      const budget = 50 + FINAL_AND_SLACK_MS;
      expect(await outcomeWithin(second, budget)).toBe('resolved');
      expect(await outcomeWithin(first, 100)).toBe('resolved');
      expect(await outcomeWithin(run, 100)).toBe('resolved');
      expect(Date.now() - started).toBeLessThan(budget);
    } finally {
      release();
    }
    // Released after the stop: a late success must not be committed either.
    await run;
    expect(queue.committed().every((c) => c.offset === undefined || c.offset === 0n)).toBe(true);
    // The next consumer of the group gets m0 again, and everything after it.
    const again = new Set<string>();
    const next = new KafkaQueue(
      { brokers: broker.bootstrap, group, topic, offset: 'first', maxWaitMs: 50, ...fastGroup, logger: silent },
      (m: KafkaMessage) => void again.add(String(m.value)),
    );
    const nextRun = next.start();
    await until(() => again.size >= 5, 30_000, `all 5 messages again (have ${[...again]})`);
    await next.stop();
    await nextRun;
    expect([...again].sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  }, 60_000);

  it('while joining (JoinGroup never answered): stop({ timeoutMs: 60000 }) then stop({ timeoutMs: 50 }) ends by the shorter deadline', async () => {
    broker = await startKafkaBroker();
    const topic = `second-stop-joining-${randomUUID()}`;
    broker.cluster.createTopic(topic, 1);
    let joins = 0;
    broker.onRequest((r) => {
      if (r.apiKey === JOIN_GROUP) joins++;
      return undefined;
    });
    broker.blackHole({ apiKey: JOIN_GROUP });
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        ...fastGroup,
        logger: silent,
      },
      () => {},
    );
    const run = queue.start();
    await until(() => joins > 0, 30_000, 'a JoinGroup');
    const first = queue.stop({ timeoutMs: 60_000 });
    const started = Date.now();
    const second = queue.stop({ timeoutMs: 50 });
    // Given up on the join at the deadline: the destroyed client gets FINAL_MS at most to let go.
    const budget = 50 + FINAL_AND_SLACK_MS;
    expect(await outcomeWithin(second, budget)).toBe('resolved');
    expect(await outcomeWithin(first, 100)).toBe('resolved');
    expect(await outcomeWithin(run, 100)).toBe('resolved');
    expect(Date.now() - started).toBeLessThan(budget);
  }, 60_000);
});
