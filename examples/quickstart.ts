/**
 * `pnpm demo`: 1,000,000 messages from an in-memory source through a Queue, each checked to arrive
 * exactly once and settled back to the source. Prints a progress bar (count, rate, ETA), the
 * throughput, and the zero-loss check; exits non-zero if a message was lost or duplicated.
 *
 * Then the same through Kafka (KafkaPusher -> topic -> KafkaQueue) on a test broker in its own process, or
 * on KAFKA_BROKERS. Set DEMO_MESSAGES / DEMO_KAFKA_MESSAGES to change the counts.
 */
import { type Outcome, type Producer, Queue } from '@q/core';
import { DeliveryCheck } from './delivery-check.js';
import { runKafkaDemo } from './demo-kafka.js';
import { progressBar } from './progress.js';

const total = Number(process.env.DEMO_MESSAGES ?? 1_000_000);
const batch = 256;

/** An in-memory source: hands out ids in batches and keeps count of what it was told about them. */
class MemorySource implements Producer<number> {
  next = 0;
  acked = 0;
  notAcked = 0;

  produce(): number[] | undefined {
    if (this.next >= total) return undefined;
    const out: number[] = [];
    for (let i = 0; i < batch && this.next < total; i++) out.push(this.next++);
    return out;
  }

  settle(_id: number, outcome: Outcome): void {
    if (outcome.type === 'consumed') this.acked++;
    else this.notAcked++;
  }
}

const source = new MemorySource();
const check = new DeliveryCheck(total);
// The queue logs through the bar, so a warning lands on its own line above it.
const bar = progressBar(total, () => check.distinct);

const queue = new Queue<number>(
  () => source,
  () => ({
    async consume(id) {
      check.arrived(id);
    },
  }),
  { name: 'quickstart', capacity: 1024, logger: bar.logger },
);

const started = performance.now();
const running = queue.start();
// Every id, or give up after a minute and say which are missing.
await check.allSeen(60_000);
const elapsed = performance.now() - started;
bar.stop();
await queue.stop();
await running;

const missing = check.missing;
const stats = queue.stats();
const rate = Math.round((total / elapsed) * 1000);
console.log(`@q/core quickstart: ${total.toLocaleString('en-US')} messages in ${elapsed.toFixed(0)} ms`);
console.log(`throughput: ${rate.toLocaleString('en-US')} messages/s`);
console.log(
  `produced ${stats.produced}, consumed ${stats.consumed}, settled back to the source ${source.acked}, ` +
    `missing ${missing}, duplicates ${check.duplicates}`,
);
const ok = missing === 0 && check.duplicates === 0 && source.acked === total && source.notAcked === 0;
console.log(ok ? 'zero-loss check: OK, every message arrived exactly once' : 'zero-loss check: FAILED');

if (!ok) console.log(check.summary());

const kafkaOk = await runKafkaDemo(Number(process.env.DEMO_KAFKA_MESSAGES ?? 1_000_000));
process.exitCode = ok && kafkaOk ? 0 : 1;
