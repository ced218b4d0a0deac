// Dead-letter records on Kafka (issue #17): every dead letter KafkaQueue writes carries the q-death
// header of @q/core (RabbitMQ's x-death facts): reason "rejected" when the handler failed every
// attempt, "expired" for a record expired at receive; the older headers (x-q-error, x-q-attempts,
// the message's own) stay.
import { randomUUID } from 'node:crypto';
import {
  addDeath,
  DEATH_HEADER,
  type DeathRecord,
  EXPIRES_AT_HEADER,
  type Pusher,
  readDeaths,
  writeDeaths,
} from '@q/core';
import { type KafkaMessage, KafkaPusher, KafkaQueue } from '@q/kafka';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Tally } from './support/tally.js';
import { type KafkaTarget, kafkaTargets } from './support/target.js';
import { silent } from './support/test-constants.js';

const opened: KafkaTarget[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

/** A dead-letter destination in memory that confirms every push (what a user's own Pusher may be). */
class Collector implements Pusher<KafkaMessage> {
  readonly got: KafkaMessage[] = [];
  name(): string {
    return 'collector';
  }
  push(message: KafkaMessage): void {
    this.got.push(message);
  }
}

function header(m: KafkaMessage, name: string): string | undefined {
  const v = m.headers[name];
  return v === undefined ? undefined : String(v);
}

for (const { name, open } of kafkaTargets()) {
  describe(`KafkaQueue dead letters carry q-death (${name})`, () => {
    it('rejected: 1,000 records, every 10th fails each attempt; handled ∪ dead-lettered = sent; each letter has its q-death and the old headers', async () => {
      const broker = await open();
      opened.push(broker);
      const topic = await broker.createTopic(4, 'dl');
      const dlq = await broker.createTopic(1, 'dl-dlq');
      const total = 1000;
      const sent = Array.from({ length: total }, (_, i) => `v${i}`);
      const failing = new Set(sent.filter((_, i) => i % 10 === 4));
      // One of them was dead-lettered before, elsewhere and here: its history must be kept and counted on.
      const before: DeathRecord[] = addDeath(addDeath([], { reason: 'expired', queue: 'upstream', time: 1 }), {
        reason: 'rejected',
        queue: topic,
        time: 2,
        cause: 'first time',
      });
      const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 5, logger: silent });
      await pusher.pushBatch(
        sent.map((value, i) => ({
          key: Buffer.from(`k${i}`),
          value: Buffer.from(value),
          headers: { own: `h${i}`, ...(value === 'v4' ? { [DEATH_HEADER]: writeDeaths(before) } : {}) },
        })),
      );
      await pusher.close();
      const handled = new Tally();
      const queue = new KafkaQueue(
        {
          brokers: broker.bootstrap,
          group: `g-${randomUUID()}`,
          topic,
          offset: 'first',
          retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 5 },
          deadLetter: dlq,
          commitIntervalMs: 50,
          maxWaitMs: 50,
          logger: silent,
        },
        (m: KafkaMessage) => {
          const v = String(m.value);
          if (failing.has(v)) throw new Error(`${v} is refused`);
          handled.add(v);
        },
      );
      const running = queue.start();
      const deadLettered = () => queue.stats().reduce((n, s) => n + s.deadLettered, 0);
      await until(() => handled.size + deadLettered() >= total, 40_000, 'every record handled or dead-lettered');
      await queue.stop();
      await running;

      const letters = await broker.read(dlq, failing.size);
      const values = new Set(letters.map((l) => l.value));
      expect(letters).toHaveLength(failing.size);
      expect(values).toEqual(failing);
      expect(handled.duplicates).toBe(0);
      expect(handled.size + values.size).toBe(total);
      for (const v of sent) expect(handled.has(v) !== values.has(v)).toBe(true);
      for (const letter of letters) {
        const i = Number(letter.value.slice(1));
        expect(letter.key).toBe(`k${i}`);
        expect(letter.headers.own).toBe(`h${i}`);
        expect(letter.headers['x-q-error']).toBe(`${letter.value} is refused`);
        expect(letter.headers['x-q-attempts']).toBe('2');
        const deaths = readDeaths(letter.headers[DEATH_HEADER]);
        expect(deaths[0]).toMatchObject({ reason: 'rejected', queue: topic, cause: `${letter.value} is refused` });
        if (letter.value === 'v4') {
          // The same queue and reason counts on and moves first; the upstream entry stays behind it.
          expect(deaths).toHaveLength(2);
          expect(deaths[0]?.count).toBe(2);
          expect(deaths[1]).toEqual(before[1]);
        } else {
          expect(deaths).toHaveLength(1);
          expect(deaths[0]?.count).toBe(1);
        }
      }
    }, 60_000);

    it("a Pusher of the user's gets the q-death too: rejected and expired, the expired one's q-expires-at removed", async () => {
      const broker = await open();
      opened.push(broker);
      const topic = await broker.createTopic(1, 'dl-own');
      const pusher = new KafkaPusher({ brokers: broker.bootstrap, topic, flushIntervalMs: 5, logger: silent });
      await pusher.pushBatch([
        { key: Buffer.from('a'), value: Buffer.from('ok') },
        { key: Buffer.from('b'), value: Buffer.from('bad') },
        { key: Buffer.from('c'), value: Buffer.from('old'), headers: { [EXPIRES_AT_HEADER]: '1' } },
      ]);
      await pusher.close();
      const collector = new Collector();
      const handled: string[] = [];
      const queue = new KafkaQueue(
        {
          brokers: broker.bootstrap,
          group: `g-${randomUUID()}`,
          topic,
          offset: 'first',
          deadLetter: collector,
          commitIntervalMs: 20,
          maxWaitMs: 50,
          logger: silent,
        },
        (m: KafkaMessage) => {
          handled.push(String(m.value));
          if (String(m.value) === 'bad') throw new Error('bad input');
        },
      );
      const running = queue.start();
      await until(() => collector.got.length === 2 && handled.length === 2, 20_000, 'two dead letters');
      await queue.stop();
      await running;
      expect(handled).toEqual(['ok', 'bad']);
      const byValue = new Map(collector.got.map((m) => [String(m.value), m]));
      const bad = byValue.get('bad') as KafkaMessage;
      const old = byValue.get('old') as KafkaMessage;
      expect(readDeaths(header(bad, DEATH_HEADER))).toMatchObject([
        { reason: 'rejected', queue: topic, count: 1, cause: 'bad input' },
      ]);
      expect(readDeaths(header(old, DEATH_HEADER))).toMatchObject([{ reason: 'expired', queue: topic, count: 1 }]);
      expect(readDeaths(header(old, DEATH_HEADER))[0]?.cause).toBeUndefined();
      expect(old.headers[EXPIRES_AT_HEADER]).toBeUndefined();
      // The record's own facts are kept.
      expect(String(old.key)).toBe('c');
      expect(old.topic).toBe(topic);
      expect(old.offset).toBe('2');
      expect(queue.expired()).toEqual({ deadLettered: 1, skipped: 0 });
    }, 30_000);
  });
}
