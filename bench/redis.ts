/**
 * `pnpm bench redis`: starts its own redis-server and measures, in one run, with 100-byte messages:
 * the raw ceilings (variadic RPUSH of 1,000 values with 4 in flight; LPOP of 256 with 8 in flight), a
 * naive BRPOP-one-at-a-time loop, BullMQ (concurrency 50, no-op processor), and ours: the pusher, an
 * at-most-once Queue end to end, an at-least-once Queue end to end. Writes bench/results/redis.json.
 */
import { writeFileSync } from 'node:fs';
import { Queue } from '@q/core';
import { RedisListPusher, type RedisMessage, redisListProducerFactory } from '@q/redis';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedisServer } from '../packages/redis/test/support/redis-server.js';
import { type CaseResult, fmt, table } from './lib/cases.js';
import { counter } from './lib/counter.js';
import { machineLine, peakRssMiB } from './lib/machine.js';

const N = 1_000_000;
const N_BULLMQ = 200_000;
const N_NAIVE = 100_000;
const BODY = 'x'.repeat(100);
const ROUNDS = 2;

const server = await startRedisServer();
const redis = new Redis(server.url, { maxRetriesPerRequest: null });
let keySeq = 0;
const freshKey = (): string => `bench:${process.pid}:${keySeq++}`;

/** Fills `key` with `n` messages as fast as possible (not measured). */
async function fill(key: string, n: number): Promise<void> {
  const chunk = Array<string>(1000).fill(BODY);
  for (let i = 0; i < n; i += 1000 * 8) {
    await Promise.all(Array.from({ length: Math.min(8, Math.ceil((n - i) / 1000)) }, () => redis.rpush(key, ...chunk)));
  }
}

type Case = () => Promise<{ messages: number; ms: number }>;

const cases: Record<string, Case> = {
  'raw RPUSH, 1,000 values per call, 4 in flight': async () => {
    const key = freshKey();
    const chunk = Array<string>(1000).fill(BODY);
    const t0 = performance.now();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (sent < N) {
          sent += 1000;
          await redis.rpush(key, ...chunk);
        }
      }),
    );
    const ms = performance.now() - t0;
    await redis.del(key);
    return { messages: N, ms };
  },
  'ours: RedisListPusher.push': async () => {
    const key = freshKey();
    const pusher = new RedisListPusher({ redis, key, chunkBytes: 100 * 1000, concurrency: 4 });
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await pusher.push(BODY);
    await pusher.close();
    const ms = performance.now() - t0;
    if ((await redis.llen(key)) !== N) throw new Error('pusher lost messages');
    await redis.del(key);
    return { messages: N, ms };
  },
  'raw LPOP 256 per call, 8 in flight': async () => {
    const key = freshKey();
    await fill(key, N);
    let got = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          const batch = await redis.lpop(key, 256);
          if (batch === null || batch.length === 0) return;
          got += batch.length;
        }
      }),
    );
    const ms = performance.now() - t0;
    if (got !== N) throw new Error(`raw pop got ${got}`);
    return { messages: N, ms };
  },
  'naive BRPOP loop, one message at a time (100,000)': async () => {
    const key = freshKey();
    await fill(key, N_NAIVE);
    const t0 = performance.now();
    for (let i = 0; i < N_NAIVE; i++) await redis.brpop(key, 1);
    return { messages: N_NAIVE, ms: performance.now() - t0 };
  },
  'ours: at-most-once Queue end to end': async () => ourQueue('at-most-once'),
  'ours: at-least-once Queue end to end': async () => ourQueue('at-least-once'),
  'BullMQ, concurrency 50, no-op processor (200,000)': async () => {
    const name = `bench-${process.pid}-${keySeq++}`;
    const connection = { host: '127.0.0.1', port: server.port };
    const queue = new BullQueue(name, { connection });
    for (let i = 0; i < N_BULLMQ; i += 1000) {
      await queue.addBulk(Array.from({ length: 1000 }, () => ({ name: 'job', data: BODY })));
    }
    const c = counter(N_BULLMQ);
    const t0 = performance.now();
    const worker = new BullWorker(name, async () => {}, { connection, concurrency: 50 });
    worker.on('completed', () => c.hit(1));
    await c.done;
    const ms = performance.now() - t0;
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    return { messages: N_BULLMQ, ms };
  },
};

async function ourQueue(mode: 'at-most-once' | 'at-least-once'): Promise<{ messages: number; ms: number }> {
  const key = freshKey();
  await fill(key, N);
  const c = counter(N);
  const queue = new Queue<string | RedisMessage>(
    redisListProducerFactory({ redis, key, mode, batchSize: 256, blockTimeoutMs: 100 }) as never,
    () => ({
      consume: async () => {},
      async consumeBatch(messages: readonly unknown[]) {
        c.hit(messages.length);
      },
    }),
    { producers: 4, consumers: 8, capacity: 2048, batchSize: 256, statsIntervalMs: 0 },
  );
  const t0 = performance.now();
  const running = queue.start();
  await c.done;
  const ms = performance.now() - t0;
  await queue.stop();
  await running;
  return { messages: N, ms };
}

const best = new Map<string, number>();
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    if (round > 1 && (name.includes('BullMQ') || name.includes('naive'))) continue;
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
const bull = rate('BullMQ, concurrency 50, no-op processor (200,000)');
const ratios = {
  'pusher / raw RPUSH (target >= 0.7)': round2(
    rate('ours: RedisListPusher.push') / rate('raw RPUSH, 1,000 values per call, 4 in flight'),
  ),
  'at-most-once / raw pop (target >= 0.6)': round2(
    rate('ours: at-most-once Queue end to end') / rate('raw LPOP 256 per call, 8 in flight'),
  ),
  'at-most-once / BullMQ (target >= 50)': round2(rate('ours: at-most-once Queue end to end') / bull),
  'at-least-once / BullMQ (target >= 15)': round2(rate('ours: at-least-once Queue end to end') / bull),
  'at-most-once / naive BRPOP loop': round2(
    rate('ours: at-most-once Queue end to end') / rate('naive BRPOP loop, one message at a time (100,000)'),
  ),
};
const report = {
  suite: 'redis',
  machine: machineLine(),
  node: process.version,
  redis: (await redis.info('server')).match(/redis_version:(\S+)/)?.[1],
  date: new Date().toISOString(),
  results,
  ratios,
};
writeFileSync(new URL('./results/redis.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nredis — ${report.machine}, node ${report.node}, redis ${report.redis}`);
console.log(table([['case', 'msg/s'], ...results.map((r) => [r.name, fmt(r.messagesPerSecond)])]));
console.log(`\n${table([['ratio', 'value'], ...Object.entries(ratios).map(([k, v]) => [k, String(v)])])}`);
await redis.quit();
await server.dispose();
