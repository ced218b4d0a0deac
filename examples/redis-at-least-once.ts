/**
 * Redis at least once: push 10,000 messages with RedisListPusher, consume them with an at-least-once
 * Queue, check every one arrived. Needs REDIS_URL (e.g. redis://127.0.0.1:6379).
 */
import { Queue } from '@q/core';
import { RedisListPusher, type RedisMessage, redisListProducerFactory } from '@q/redis';
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL;
if (url === undefined || url === '') {
  console.error('set REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379');
  process.exit(2);
}
const total = 10_000;
const redis = new Redis(url);
const key = `example:${process.pid}`;

const pusher = new RedisListPusher({ redis, key });
for (let i = 0; i < total; i++) await pusher.push(`order-${i}`);
await pusher.close(); // flushes the last chunk

const seen = new Set<string>();
let allIn!: () => void;
const finished = new Promise<void>((resolve) => {
  allIn = resolve;
});
const queue = new Queue<RedisMessage>(
  redisListProducerFactory({ redis, key, mode: 'at-least-once', blockTimeoutMs: 100 }),
  () => ({
    async consume(message) {
      seen.add(message.body);
      if (seen.size === total) allIn();
    },
  }),
  { producers: 2, consumers: 4 },
);
const running = queue.start();
await finished;
await queue.stop();
await running;
await redis.del(key);
await redis.quit();
console.log(`redis example: ${seen.size} of ${total} messages consumed at least once`);
process.exitCode = seen.size === total ? 0 : 1;
