import { randomUUID } from 'node:crypto';
import { KafkaPusher, KafkaQueue } from '@q/kafka';
import { type KafkaTestBroker, startKafkaBroker } from '@q/kafka-testkit';
import { openLog } from '@q/log';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { Outbox } from '../src/index.js';
import { silentLogger, tempDir } from './support/fixtures.js';

let broker: KafkaTestBroker | undefined;
afterAll(async () => {
  await broker?.stop();
});

async function forwardAll(dir: string, topic: string, bootstrap: string[], send: number): Promise<void> {
  const sink = new KafkaPusher({ brokers: bootstrap, topic, logger: silentLogger, flushIntervalMs: 5 });
  const outbox = new Outbox({ dir, sink, logger: silentLogger });
  try {
    await Promise.all(Array.from({ length: send }, (_, i) => outbox.send(`m-${i}`)));
    await outbox.ready();
    await until(() => outbox.stats().backlogMessages === 0, 20_000, 'the backlog forwarded');
  } finally {
    await outbox.close({ timeoutMs: 5000 });
    await sink.close();
  }
}

describe('keyless messages to a Kafka sink', () => {
  it('a replay lands on the partition of the first write, so the consumer-side de-duplication drops it', async () => {
    broker = await startKafkaBroker();
    const topic = `keyless-${randomUUID()}`;
    broker.cluster.createTopic(topic, 4);
    const dir = tempDir('keyless');
    await forwardAll(dir, topic, broker.bootstrap, 200);
    // The forwarder replays everything, as after a crash between the sink's confirm and the cursor commit.
    const log = await openLog({ dir, logger: silentLogger });
    await (await log.cursor('forward')).seek(0);
    await log.close();
    await forwardAll(dir, topic, broker.bootstrap, 0);

    const handled: string[] = [];
    const queue = new KafkaQueue(
      {
        brokers: broker.bootstrap,
        group: `g-${randomUUID()}`,
        topic,
        offset: 'first',
        dedupe: 'outbox-id',
        logger: silentLogger,
      },
      (m) => {
        handled.push(String(m.value));
      },
    );
    const running = queue.start();
    try {
      // 400 records are stored: each of the 200 once handled, its replay dropped.
      await until(() => handled.length + queue.duplicatesDropped() >= 400, 20_000, 'every record seen');
    } finally {
      await queue.stop();
      await running;
    }
    expect(new Set(handled).size).toBe(200);
    expect(handled.length).toBe(200);
    expect(queue.duplicatesDropped()).toBe(200);
  });
});
