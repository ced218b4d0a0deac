// TTL on Kafka (issue #17): KafkaPusher's ttlMs stamps q-expires-at; KafkaQueue checks it when it
// fetches a record and never hands an expired one to its handler: it is dead-lettered with a q-death
// record of reason "expired" (committed past only once that push was confirmed), or skipped,
// counted and logged when there is no dead-letter destination.
import { randomUUID } from 'node:crypto';
import { DEATH_HEADER, EXPIRES_AT_HEADER, readDeaths } from '@q/core';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { Tally } from './support/tally.js';
import { type KafkaTarget, kafkaTargets } from './support/target.js';
import { silent } from './support/test-constants.js';

const opened: KafkaTarget[] = [];
const brokers: KafkaTestBroker[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

const TOTAL = 2000;
/** The known subset that is already expired when the queue fetches it: 286 of the 2,000. */
const isExpiredOne = (i: number): boolean => i % 7 === 3;
const sent = Array.from({ length: TOTAL }, (_, i) => `m${i}`);
const expiredValues = new Set(sent.filter((_, i) => isExpiredOne(i)));

/**
 * Pushes the 2,000 through a pusher with a long ttlMs: the expired subset carries an expiry an hour
 * in the past, which the pusher keeps (the earlier one wins); the rest get now + 10 minutes.
 */
async function pushAll(bootstrap: string[], topic: string): Promise<void> {
  const pusher = new KafkaPusher({ brokers: bootstrap, topic, ttlMs: 600_000, flushIntervalMs: 5, logger: silent });
  const past = String(Date.now() - 3_600_000);
  await pusher.pushBatch(
    sent.map((value, i) => ({
      key: Buffer.from(`k${i % 50}`),
      value: Buffer.from(value),
      headers: isExpiredOne(i) ? { [EXPIRES_AT_HEADER]: past } : {},
    })),
  );
  await pusher.close();
}

/** Collects the handler's deliveries; fails the test if an expired one gets there. */
function handlerTally(): { handled: Tally; expiredHandled: string[]; handler: (m: KafkaMessage) => void } {
  const handled = new Tally();
  const expiredHandled: string[] = [];
  return {
    handled,
    expiredHandled,
    handler: (m) => {
      const v = String(m.value);
      if (expiredValues.has(v)) expiredHandled.push(v);
      handled.add(v);
    },
  };
}

for (const { name, open } of kafkaTargets()) {
  describe(`KafkaQueue lazy expiry (${name})`, () => {
    for (const ordering of ['partition', 'key'] as const) {
      it(`${ordering} order, with a dead-letter topic: handled ∪ dead-lettered = sent, disjoint; every dead letter says expired`, async () => {
        const broker = await open();
        opened.push(broker);
        const topic = await broker.createTopic(4, 'ttl');
        const dlq = await broker.createTopic(1, 'ttl-dlq');
        await pushAll(broker.bootstrap, topic);
        const { handled, expiredHandled, handler } = handlerTally();
        const queue = new KafkaQueue(
          {
            brokers: broker.bootstrap,
            group: `g-${randomUUID()}`,
            topic,
            offset: 'first',
            ordering,
            deadLetter: dlq,
            commitIntervalMs: 50,
            maxWaitMs: 50,
            logger: silent,
          },
          handler,
        );
        const running = queue.start();
        await until(
          () => handled.size + queue.expired().deadLettered >= TOTAL,
          40_000,
          'every record handled or dead-lettered',
        );
        await queue.stop();
        await running;

        const letters = await broker.read(dlq, expiredValues.size);
        const deadLettered = new Set(letters.map((r) => r.value));
        expect(letters).toHaveLength(expiredValues.size);
        expect(deadLettered).toEqual(expiredValues);
        expect(expiredHandled).toEqual([]);
        expect(handled.duplicates).toBe(0);
        // handled ∪ dead-lettered = sent, and disjoint.
        expect(handled.size + deadLettered.size).toBe(TOTAL);
        for (const v of sent) expect(handled.has(v) !== deadLettered.has(v)).toBe(true);
        expect(queue.expired()).toEqual({ deadLettered: expiredValues.size, skipped: 0 });
        for (const letter of letters) {
          const deaths = readDeaths(letter.headers[DEATH_HEADER]);
          expect(deaths).toHaveLength(1);
          expect(deaths[0]).toMatchObject({ reason: 'expired', queue: topic, count: 1 });
          expect(typeof deaths[0]?.time).toBe('number');
          // Dropped, as RabbitMQ drops a dead letter's expiration: the DLQ must not expire it again.
          expect(letter.headers[EXPIRES_AT_HEADER]).toBeUndefined();
          expect(letter.key).toMatch(/^k\d+$/);
        }
        // Every partition is committed to its end: the expired ones were settled once confirmed.
        for (const [partition, end] of await broker.endOffsets(topic)) {
          const offsets = queue.committed().filter((c) => c.partition === partition && c.offset !== undefined);
          expect(offsets.map((c) => c.offset)).toContain(end);
        }
      }, 60_000);
    }

    it('without a dead-letter destination: expired ones are skipped, counted, logged once per batch; commits reach the end', async () => {
      const broker = await open();
      opened.push(broker);
      const topic = await broker.createTopic(4, 'ttl-skip');
      await pushAll(broker.bootstrap, topic);
      const { handled, expiredHandled, handler } = handlerTally();
      const lines: { skipped: number }[] = [];
      const logger = {
        ...silent,
        warn(fields: unknown, message?: string) {
          if (typeof message === 'string' && message.includes('expired record'))
            lines.push(fields as { skipped: number });
        },
      };
      const queue = new KafkaQueue(
        {
          brokers: broker.bootstrap,
          group: `g-${randomUUID()}`,
          topic,
          offset: 'first',
          commitIntervalMs: 50,
          maxWaitMs: 50,
          logger,
        },
        handler,
      );
      const running = queue.start();
      await until(() => handled.size + queue.expired().skipped >= TOTAL, 40_000, 'every record handled or skipped');
      // Commits of the skipped tail records come with the next interval.
      await delay(200);
      await queue.stop();
      await running;
      expect(expiredHandled).toEqual([]);
      expect(handled.duplicates).toBe(0);
      expect(handled.size).toBe(TOTAL - expiredValues.size);
      for (const v of sent) expect(handled.has(v)).toBe(!expiredValues.has(v));
      expect(queue.expired()).toEqual({ deadLettered: 0, skipped: expiredValues.size });
      expect(queue.stats()[0]?.consumed).toBe(TOTAL - expiredValues.size);
      // One line per fetched batch that skipped any, each with its count: far fewer than 286 lines.
      expect(lines.reduce((n, l) => n + l.skipped, 0)).toBe(expiredValues.size);
      expect(lines.length).toBeLessThan(expiredValues.size);
      for (const l of lines) expect(l.skipped).toBeGreaterThan(0);
      for (const [partition, end] of await broker.endOffsets(topic)) {
        const offsets = queue.committed().filter((c) => c.partition === partition && c.offset !== undefined);
        expect(offsets.map((c) => c.offset)).toContain(end);
      }
    }, 60_000);
  });
}

describe('KafkaQueue lazy expiry: the commit waits for the dead letter', () => {
  it('an expired record whose dead-letter topic is missing holds the commit; once the topic exists it is written and committed past', async () => {
    const broker = await startKafkaBroker();
    brokers.push(broker);
    const topic = `ttl-hold-${randomUUID()}`;
    const dlq = `ttl-hold-dlq-${randomUUID()}`;
    broker.cluster.createTopic(topic, 1);
    const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 1, logger: silent });
    const past = String(Date.now() - 1000);
    await pusher.pushBatch(
      Array.from({ length: 10 }, (_, i) => ({
        key: Buffer.from('one-key'),
        value: Buffer.from(String(i)),
        headers: i === 3 ? { [EXPIRES_AT_HEADER]: past } : {},
      })),
    );
    await pusher.close();
    const group = `g-${randomUUID()}`;
    const handled: string[] = [];
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group,
        topic,
        offset: 'first',
        ordering: 'unordered',
        deadLetter: dlq,
        deadLetterBackoff: { minDelayMs: 10, maxDelayMs: 50 },
        commitIntervalMs: 20,
        maxWaitMs: 50,
        logger: silent,
      },
      (m) => {
        handled.push(String(m.value));
      },
    );
    const running = queue.start();
    try {
      await until(() => handled.length === 9, 20_000, 'the 9 live records handled');
      // Several commit intervals while the dead-letter topic does not exist (UnroutableError).
      await delay(300);
      const committed = () => broker.cluster.groups.committed(group, topic, 0)?.offset ?? 0n;
      expect(committed()).toBeLessThanOrEqual(3n);
      expect(queue.expired().deadLettered).toBe(0);
      expect(broker.cluster.topics.has(dlq)).toBe(false);

      broker.cluster.createTopic(dlq, 1);
      await until(() => queue.expired().deadLettered === 1, 20_000, 'the expired record dead-lettered');
      await until(() => committed() === 10n, 20_000, 'committed to the end');
    } finally {
      await queue.stop();
      await running;
    }
    expect(handled).not.toContain('3');
    expect(broker.cluster.partition(dlq, 0)?.log.endOffset).toBe(1n);
  }, 60_000);
});
