// Review finding: a dead letter adds headers (q-error, q-error-code, q-attempts, q-dead-lettered-at,
// q-key as base64) to the message's own. For a message whose headers (or key) are near the log's 64 KiB
// bound the dead-letter record cannot be written; the forwarder retries it forever and nothing after
// the refused message is ever forwarded, with the sink up (and the same after every restart).
import { KafkaPusher } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { silentLogger, tempDir } from './support/fixtures.js';

const broker = await startKafkaBroker({ topics: [] });
afterAll(() => broker.stop());

describe('review: a refused message with large headers', () => {
  const cases = [
    { what: 'user headers of 65,400 bytes', options: { headers: { h: 'x'.repeat(65_400) } } },
    { what: 'a key of 49,000 bytes', options: { key: 'k'.repeat(49_000) } },
  ];
  for (const [i, { what, options }] of cases.entries()) {
    it(`${what}: is dead-lettered and the messages after it are forwarded`, async () => {
      const pusher = new KafkaPusher({
        brokers: broker.bootstrap,
        topic: `review-dlh-${i}`,
        maxMessageBytes: 1000,
        // The topic is made by its first push (the test broker auto-creates, as a default broker does).
        allowAutoTopicCreation: true,
        flushIntervalMs: 5,
        logger: silentLogger,
      });
      const outbox = new Outbox({
        dir: tempDir('review-dl'),
        sink: pusher,
        logger: silentLogger,
        retry: { minDelayMs: 10, maxDelayMs: 100 },
      });
      let deadLetterErrors = 0;
      outbox.on('error', ({ stage }) => {
        if (stage === 'dead-letter') deadLetterErrors++;
      });
      await outbox.send('ok-1');
      await outbox.send('B'.repeat(2000), options); // over maxMessageBytes: refused for good
      await outbox.send('ok-2');
      try {
        await until(() => outbox.stats().forwarded === 2, 10_000, 'ok-2 forwarded past the refused message');
        expect(outbox.stats().deadLettered).toBe(1);
      } finally {
        await outbox.close({ timeoutMs: 500 });
        await pusher.close();
      }
      expect(deadLetterErrors).toBe(0);
    });
  }
});
