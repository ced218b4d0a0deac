/**
 * `pnpm bench amqp`: starts its own RabbitMQ node (the test run's setup) and measures, in one run,
 * with 100-byte persistent messages on a durable classic queue: raw amqplib confirmed publishing
 * with a window of 1,024 against ours (`AmqpPusher`), and raw amqplib consuming with prefetch 256
 * and manual acks against ours (`amqpProducerFactory` through a `Queue`, end to end). Writes
 * bench/results/amqp.json.
 */
import { writeFileSync } from 'node:fs';
import { AmqpPusher, amqpProducerFactory } from '@q/amqp';
import { Queue, silentLogger } from '@q/core';
import amqp from 'amqplib';
import { startRabbitMq } from '../test-support/rabbitmq-server.js';
import { type CaseResult, fmt, table } from './lib/cases.js';
import { counter } from './lib/counter.js';
import { machineLine, peakRssMiB } from './lib/machine.js';

const N = 100_000;
const BODY = Buffer.alloc(100, 'x');
const WINDOW = 1024;
const PREFETCH = 256;
const ROUNDS = 3;

const server = await startRabbitMq();
const admin = await amqp.connect(server.url);
const adminChannel = await admin.createChannel();
let seq = 0;
const freshQueue = async (): Promise<string> => {
  const name = `bench-${process.pid}-${seq++}`;
  await adminChannel.assertQueue(name, { durable: true });
  return name;
};

/** Fills `queue` with `n` persistent messages (not measured). */
async function fill(queue: string, n: number): Promise<void> {
  const connection = await amqp.connect(server.url);
  const channel = await connection.createConfirmChannel();
  for (let i = 0; i < n; i++) {
    if (!channel.sendToQueue(queue, BODY, { persistent: true })) await new Promise((r) => channel.once('drain', r));
    if (i % WINDOW === WINDOW - 1) await channel.waitForConfirms();
  }
  await channel.waitForConfirms();
  await connection.close();
}

type Case = () => Promise<{ messages: number; ms: number }>;

const cases: Record<string, Case> = {
  'raw amqplib: confirmed publish, window 1,024': async () => {
    const queue = await freshQueue();
    const connection = await amqp.connect(server.url);
    const channel = await connection.createConfirmChannel();
    let outstanding = 0;
    let wake: (() => void) | undefined;
    const t0 = performance.now();
    let confirmed = 0;
    const all = new Promise<void>((resolve, reject) => {
      const onConfirm = (error: unknown): void => {
        if (error) reject(error);
        outstanding--;
        confirmed++;
        wake?.();
        if (confirmed === N) resolve();
      };
      void (async () => {
        for (let i = 0; i < N; i++) {
          while (outstanding >= WINDOW) await new Promise<void>((r) => (wake = r));
          outstanding++;
          const ok = channel.sendToQueue(queue, BODY, { persistent: true, mandatory: true }, onConfirm);
          if (!ok) await new Promise((r) => channel.once('drain', r));
        }
      })();
    });
    await all;
    const ms = performance.now() - t0;
    await connection.close();
    await adminChannel.deleteQueue(queue);
    return { messages: N, ms };
  },
  'ours: AmqpPusher.pushAndConfirm': async () => {
    const queue = await freshQueue();
    const pusher = new AmqpPusher({ url: server.url, exchange: '', routingKey: queue, window: WINDOW });
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      pending.push(pusher.pushAndConfirm(BODY));
      // The caller's own window: what an outbox forwarder or an HTTP handler awaiting confirms keeps in flight.
      if (pending.length >= WINDOW) await Promise.all(pending.splice(0, WINDOW / 2));
    }
    await Promise.all(pending);
    const ms = performance.now() - t0;
    await pusher.close();
    if ((await adminChannel.checkQueue(queue)).messageCount !== N) throw new Error('pusher lost messages');
    await adminChannel.deleteQueue(queue);
    return { messages: N, ms };
  },
  'raw amqplib: consume, prefetch 256, manual acks': async () => {
    const queue = await freshQueue();
    await fill(queue, N);
    const connection = await amqp.connect(server.url);
    const channel = await connection.createChannel();
    await channel.prefetch(PREFETCH);
    const c = counter(N);
    const t0 = performance.now();
    await channel.consume(queue, (m) => {
      if (m === null) return;
      channel.ack(m);
      c.hit(1);
    });
    await c.done;
    const ms = performance.now() - t0;
    await connection.close();
    await adminChannel.deleteQueue(queue);
    return { messages: N, ms };
  },
  'ours: amqpProducerFactory Queue end to end, prefetch 256': async () => {
    const queue = await freshQueue();
    await fill(queue, N);
    const c = counter(N);
    const q = new Queue<unknown>(
      amqpProducerFactory({ url: server.url, queue, prefetch: PREFETCH, logger: silentLogger }),
      () => ({
        consume: async () => {},
        async consumeBatch(messages: readonly unknown[]) {
          c.hit(messages.length);
        },
      }),
      { producers: 1, consumers: 4, capacity: PREFETCH, batchSize: 64, statsIntervalMs: 0, logger: silentLogger },
    );
    const t0 = performance.now();
    const running = q.start();
    await c.done;
    const ms = performance.now() - t0;
    await q.stop();
    await running;
    const left = (await adminChannel.checkQueue(queue)).messageCount;
    if (left !== 0) throw new Error(`${left} messages not acked`);
    await adminChannel.deleteQueue(queue);
    return { messages: N, ms };
  },
};

const best = new Map<string, number>();
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    const { messages, ms } = await run();
    const rate = Math.round((messages / ms) * 1000);
    console.error(`  round ${round}, ${name}: ${fmt(rate)} msg/s`);
    best.set(name, Math.max(best.get(name) ?? 0, rate));
  }
}
const rss = peakRssMiB();
const results: CaseResult[] = [...best].map(([name, messagesPerSecond]) => ({
  name,
  messagesPerSecond,
  peakRssMiB: rss,
}));
const rate = (name: string): number => best.get(name) ?? Number.NaN;
const round2 = (x: number): number => Math.round(x * 100) / 100;
const ratios = {
  'confirmed publish: ours / raw amqplib (target >= 0.9)': round2(
    rate('ours: AmqpPusher.pushAndConfirm') / rate('raw amqplib: confirmed publish, window 1,024'),
  ),
  'consume + ack: ours / raw amqplib (target >= 0.9)': round2(
    rate('ours: amqpProducerFactory Queue end to end, prefetch 256') /
      rate('raw amqplib: consume, prefetch 256, manual acks'),
  ),
};
const report = {
  suite: 'amqp',
  machine: machineLine(),
  node: process.version,
  rabbitmq: server.ctl('version').trim(),
  date: new Date().toISOString(),
  results,
  ratios,
};
writeFileSync(new URL('./results/amqp.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log(`\namqp — ${report.machine}, node ${report.node}, rabbitmq ${report.rabbitmq}`);
console.log(table([['case', 'msg/s'], ...results.map((r) => [r.name, fmt(r.messagesPerSecond)])]));
console.log(`\n${table([['ratio', 'value'], ...Object.entries(ratios).map(([k, v]) => [k, String(v)])])}`);
await admin.close();
await server.dispose();
