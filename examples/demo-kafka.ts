/**
 * The Kafka part of `pnpm demo`: KafkaPusher -> topic -> KafkaQueue -> handler, counting every
 * message by id. Runs on a @q/kafka-testkit broker in its own process, or on KAFKA_BROKERS
 * (comma-separated).
 */
import { randomUUID } from 'node:crypto';
import { KafkaPusher, KafkaQueue } from '@q/kafka';
import { spawnKafkaBroker } from '@q/kafka-testkit';
import { cpuSecondsOf, ownCpuSeconds } from './cpu.js';
import { DeliveryCheck } from './delivery-check.js';
import { progressBar } from './progress.js';

const PARTITIONS = 8;
const n = (x: number): string => Math.round(x).toLocaleString('en-US');

/** Runs the Kafka leg; true when every message arrived (duplicates are reported, not failed on). */
export async function runKafkaDemo(total: number): Promise<boolean> {
  const external = process.env.KAFKA_BROKERS;
  const topic = `demo-${randomUUID()}`;
  // Its own process: in this one, a busy event loop (kafkajs encoding a send, the handlers working
  // through a fetch) delays the group coordinator's reading of heartbeats but not its session
  // timers, and the member is dropped while it is alive.
  const broker = external ? undefined : await spawnKafkaBroker({ partitions: PARTITIONS, topics: [topic] });
  const brokers = external ? external.split(',') : (broker?.bootstrap as string[]);
  console.log(
    `\nKafka pipeline on ${external ? `KAFKA_BROKERS=${external}` : `a @q/kafka-testkit broker in its own process (pid ${broker?.pid})`}: ${n(total)} messages`,
  );

  const check = new DeliveryCheck(total);
  // Both log through the bar: a warning (a rebalance, a slow commit) lands on its own line above it.
  const bar = progressBar(total, () => check.distinct);
  const logger = bar.logger;
  const queue = new KafkaQueue(
    {
      brokers,
      group: `demo-${randomUUID()}`,
      topic,
      offset: 'first',
      ordering: 'key',
      processors: 16,
      maxWaitMs: 100,
      logger,
    },
    (message) => check.arrived(Number(message.value)),
  );
  const running = queue.start();
  const cpu0 = ownCpuSeconds();
  const brokerCpu0 = broker ? cpuSecondsOf(broker.pid) : undefined;
  const started = performance.now();
  // About 2,000 of these 6-byte values per send. kafkajs encodes a send in one go (25-40 µs of CPU
  // per keyed message here, and its grouping by partition copies the list per message): the 256 KiB
  // chunks this demo used (43,000 messages) held this event loop for 7-12 s on a loaded machine, no
  // heartbeat went out, and the group dropped the member again and again.
  const pusher = new KafkaPusher({ brokers, topic, chunkBytes: 12 * 1024, flushIntervalMs: 20, logger });
  // Most pushes resolve at once (buffered); the one that fills a chunk waits for the previous send.
  for (let i = 0; i < total; i++) await pusher.pushWithKey(`customer-${i % 1000}`, String(i));
  await pusher.close(); // every push confirmed by the broker (acks -1)
  const pushedMs = performance.now() - started;
  const waitMs = Number(process.env.DEMO_KAFKA_WAIT_MS ?? 120_000);
  const complete = await check.allSeen(waitMs);
  const elapsed = performance.now() - started;
  const cpu = ownCpuSeconds() - cpu0;
  const brokerCpu =
    broker && brokerCpu0 !== undefined ? (cpuSecondsOf(broker.pid) ?? brokerCpu0) - brokerCpu0 : undefined;
  bar.stop();
  await queue.stop();
  await running;
  await broker?.stop();
  const committed = queue.committed().reduce((sum, c) => sum + Number(c.offset ?? 0n), 0);

  console.log(`pushed and confirmed (acks -1) in ${n(pushedMs)} ms: ${n((total / pushedMs) * 1000)} messages/s`);
  console.log(`throughput, push to handler: ${n((total / elapsed) * 1000)} messages/s`);
  if (!complete) console.log(`still missing after waiting ${n(waitMs)} ms for every id:`);
  console.log(`${check.summary()} (deliveries ${n(check.deliveries)})`);
  console.log(
    `committed offsets: ${n(committed)} of ${n(total)}${committed === total ? ' (a restart would deliver nothing again)' : ' (a restart delivers the rest again)'}`,
  );
  const perMessage = (seconds: number): string => `${((seconds / total) * 1e6).toFixed(1)} µs`;
  // Profiled on the 2-core machine: about two thirds of this process's CPU is kafkajs's producer
  // (a Record object, murmur2 of the key, varint encoding, Buffers per message), a tenth garbage
  // collection, under a tenth the Queue and KafkaQueue; the broker process about 1.5 µs a message.
  console.log(
    `what bounds the rate: CPU of this process, ${perMessage(cpu)} per message, about two thirds of it ` +
      "kafkajs's producer encoding each record the KafkaPusher sends" +
      (brokerCpu === undefined ? '' : `; the broker process used ${perMessage(brokerCpu)}`) +
      '. The consuming side alone (KafkaQueue, key mode) runs at about 600,000 messages/s: pnpm bench kafka.',
  );
  const ok = check.missing === 0 && check.unexpected === 0;
  if (!ok) console.log('Kafka zero-loss check: FAILED, messages are missing');
  else if (check.duplicates > 0) {
    console.log(
      `Kafka zero-loss check: OK, every message arrived; ${n(check.duplicates)} again after a group rebalance (at-least-once)`,
    );
  } else console.log('Kafka zero-loss check: OK, every message arrived exactly once');
  return ok;
}
