import { randomUUID } from 'node:crypto';
import { InvalidOptionError } from '@q/core';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { outcomeWithin, until } from '../../../test-support/wait.js';
import { API } from './support/kafka-errors.js';
import { fastGroup } from './support/test-constants.js';

let broker: KafkaTestBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

/** A logger that keeps its warnings. */
function recording(): {
  logger: { error(): void; warn(f: unknown, m: string): void; info(): void; debug(): void };
  warnings: string[];
} {
  const warnings: string[] = [];
  return { logger: { error() {}, warn: (_f, m) => void warnings.push(m), info() {}, debug() {} }, warnings };
}

async function seeded(count: number): Promise<{ broker: KafkaTestBroker; topic: string }> {
  broker = await startKafkaBroker();
  const topic = `timeout-values-${randomUUID()}`;
  broker.cluster.createTopic(topic, 1);
  const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, logger: recording().logger });
  await Promise.all(
    Array.from({ length: count }, (_, i) => pusher.pushAndConfirm({ key: null, value: Buffer.from(`m${i}`) })),
  );
  await pusher.close();
  return { broker, topic };
}

// Node runs a timer of more than 2^31-1 ms (Infinity included) after 1 ms, with a warning.
describe('stop and close deadlines beyond what a timer holds', () => {
  it('KafkaQueue.stop({ timeoutMs: Infinity }) waits for the final commit and leave instead of giving up after 1 ms', async () => {
    const { broker: b, topic } = await seeded(50);
    const group = `g-${randomUUID()}`;
    const { logger, warnings } = recording();
    let handled = 0;
    const queue = new KafkaQueue(
      { brokers: b.bootstrap, group, topic, offset: 'first', commitIntervalMs: 60_000, ...fastGroup, logger },
      (_m: KafkaMessage) => {
        handled++;
      },
    );
    const run = queue.start();
    await until(() => handled >= 50, 30_000, 'every message handled');
    // The leave answers only after 200 ms: far less than the deadline asked for.
    b.delay({ ms: 200, apiKey: 13 });
    await queue.stop({ timeoutMs: Number.POSITIVE_INFINITY });
    await run;
    expect(warnings).toEqual([]);
    expect(b.cluster.groups.committed(group, topic, 0)?.offset).toBe(50n);
  }, 60_000);

  it('KafkaQueue.stop with a timeoutMs no timer holds is refused at the call, and the queue still stops after', async () => {
    const { broker: b, topic } = await seeded(10);
    const group = `g-${randomUUID()}`;
    let handled = 0;
    const queue = new KafkaQueue(
      { brokers: b.bootstrap, group, topic, offset: 'first', ...fastGroup, logger: recording().logger },
      () => {
        handled++;
      },
    );
    const run = queue.start();
    await until(() => handled >= 10, 30_000, 'every message handled');
    for (const timeoutMs of [3e9, -1, Number.NaN]) {
      expect(() => queue.stop({ timeoutMs })).toThrow(InvalidOptionError);
    }
    await queue.stop({ timeoutMs: 2000 });
    await run;
    expect(queue.stats().map((s) => s.state)).toEqual(['stopped']);
  }, 60_000);

  it('KafkaPusher.close({ timeoutMs: Infinity }) does not abandon a write under way', async () => {
    broker = await startKafkaBroker();
    const topic = `timeout-values-${randomUUID()}`;
    broker.cluster.createTopic(topic, 1);
    const { logger, warnings } = recording();
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, logger });
    await pusher.pushAndConfirm('warm-up');
    broker.delay({ ms: 300, apiKey: API.PRODUCE });
    const confirmed = pusher.pushAndConfirm('slow');
    await pusher.close({ timeoutMs: Number.POSITIVE_INFINITY });
    expect(await outcomeWithin(confirmed, 1000)).toBe('resolved');
    expect(warnings).toEqual([]);
  }, 30_000);
});
