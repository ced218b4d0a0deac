import { join } from 'node:path';
import { KafkaPusher } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { openLog } from '@q/log';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { DEAD_LETTER_DIR, Outbox } from '../src/index.js';
import { silentLogger, tempDir, withoutPushBatch } from './support/fixtures.js';

const broker = await startKafkaBroker({ topics: [] });
afterAll(() => broker.stop());
let topics = 0;

/** Every message of the topic's partition 0, read back with a real kafkajs consumer. */
async function readTopic(topic: string, count: number): Promise<{ value: string; id: string }[]> {
  const kafka = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: `${topic}-reader`,
    sessionTimeout: 3000,
    rebalanceTimeout: 3000,
    heartbeatInterval: 100,
  });
  const out: { value: string; id: string }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      out.push({ value: String(message.value), id: String(message.headers?.['q-outbox-id']) });
    },
  });
  await until(() => out.length >= count, 20_000, `${count} messages read from ${topic}`);
  await consumer.disconnect();
  return out;
}

const cases = [
  { mode: 'write-ahead', batch: 'pushBatch' },
  { mode: 'write-ahead', batch: 'per-message fallback' },
  { mode: 'direct-first', batch: 'pushBatch' },
] as const;

describe('a message the sink refuses for good goes to the dead-letter log; the rest flows', () => {
  for (const { mode, batch } of cases) {
    it(`${mode}, ${batch}: KafkaPusher's maxMessageBytes refuses one message of 41`, async () => {
      const topic = `dl-${topics++}`;
      const pusher = new KafkaPusher({
        brokers: broker.bootstrap,
        topic,
        maxMessageBytes: 1000,
        // The topic is made by its first push (the test broker auto-creates, as a default broker does).
        allowAutoTopicCreation: true,
        flushIntervalMs: 5,
        logger: silentLogger,
      });
      const dir = tempDir('dead-letter');
      const outbox = new Outbox({
        dir,
        sink: batch === 'pushBatch' ? pusher : withoutPushBatch(pusher),
        mode,
        logger: silentLogger,
        retry: { minDelayMs: 10, maxDelayMs: 100 },
      });
      const deadLetters: { id: string; code: unknown }[] = [];
      outbox.on('dead-letter', ({ id, cause }) => deadLetters.push({ id, code: (cause as { code?: unknown }).code }));
      const small = Array.from({ length: 40 }, (_, i) => `small-${i}`);
      const big = 'B'.repeat(5000);
      const inputs = [...small.slice(0, 17), big, ...small.slice(17)].map((body) => ({ body, key: 'k' }));
      const results = await outbox.sendBatch(inputs);
      const bigId = results[17]?.id as string;

      await until(() => outbox.stats().deadLettered === 1 && outbox.stats().backlogMessages === 0, 20_000, 'done');
      expect(deadLetters).toEqual([{ id: bigId, code: 'Q_MESSAGE_TOO_LARGE' }]);
      await outbox.close();
      await pusher.close();

      const got = await readTopic(topic, 40);
      expect(got.map((m) => m.value)).toEqual(small);
      const seqs = got.map((m) => Number(m.id.split(':')[1]));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(got.map((m) => m.id)).not.toContain(bigId);

      const dl = await openLog({ dir: join(dir, DEAD_LETTER_DIR), logger: silentLogger });
      const records = await dl.read(0, { max: 10 });
      await dl.close();
      expect(records.length).toBe(1);
      const [r] = records;
      expect(r?.body.toString()).toBe(big);
      expect(r?.headers['q-outbox-id']).toBe(bigId);
      expect(r?.headers['q-error-code']).toBe('Q_MESSAGE_TOO_LARGE');
      expect(r?.headers['q-error']).toMatch(/1000/);
      expect(Number(r?.headers['q-attempts'])).toBeGreaterThanOrEqual(1);
      expect(Date.parse(r?.headers['q-dead-lettered-at'] as string)).toBeGreaterThan(Date.now() - 60_000);
      expect(Buffer.from(r?.headers['q-key'] as string, 'base64').toString()).toBe('k');
    });
  }
});
