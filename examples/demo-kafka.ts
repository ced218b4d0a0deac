/**
 * The Kafka part of `pnpm demo`: KafkaPusher -> topic -> KafkaQueue -> handler, counting every
 * message. Runs on an in-process @q/kafka-testkit broker, or on KAFKA_BROKERS (comma-separated).
 */
import { randomUUID } from 'node:crypto';
import { KafkaPusher, KafkaQueue } from '@q/kafka';
import { startKafkaBroker } from '@q/kafka-testkit';
import { DeliveryCheck } from './delivery-check.js';
import { progressBar } from './progress.js';

export async function runKafkaDemo(total: number): Promise<boolean> {
  const external = process.env.KAFKA_BROKERS;
  const broker = external ? undefined : await startKafkaBroker({ defaultPartitions: 8 });
  const brokers = external ? external.split(',') : (broker?.bootstrap as string[]);
  const topic = `demo-${randomUUID()}`;
  broker?.cluster.createTopic(topic, 8);
  console.log(
    `\nKafka pipeline on ${external ? `KAFKA_BROKERS=${external}` : 'an in-process @q/kafka-testkit broker'}: ${total.toLocaleString('en-US')} messages`,
  );

  const check = new DeliveryCheck(total);
  const queue = new KafkaQueue(
    { brokers, group: `demo-${randomUUID()}`, topic, offset: 'first', ordering: 'key', processors: 16, maxWaitMs: 100 },
    (message) => {
      const id = Number(message.value);
      check.arrived(id);
    },
  );
  const running = queue.start();
  const bar = progressBar(total, () => check.received);
  const started = performance.now();
  const pusher = new KafkaPusher({ brokers, topic, chunkBytes: 256 * 1024, flushIntervalMs: 20 });
  for (let i = 0; i < total; i++) await pusher.pushWithKey(`customer-${i % 1000}`, String(i));
  await pusher.close(); // every push confirmed by the broker (acks -1)
  await check.allIn;
  const elapsed = performance.now() - started;
  bar.stop();
  await queue.stop();
  await running;
  await broker?.stop();
  const missing = check.missing();
  console.log(
    `throughput, push to handler: ${Math.round((total / elapsed) * 1000).toLocaleString('en-US')} messages/s`,
  );
  console.log(`consumed ${check.received}, missing ${missing}, duplicates ${check.duplicates}`);
  const ok = missing === 0 && check.duplicates === 0;
  console.log(ok ? 'Kafka zero-loss check: OK, every message arrived exactly once' : 'Kafka zero-loss check: FAILED');
  return ok;
}
