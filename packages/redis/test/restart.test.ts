import { Queue } from '@q/core';
import { RedisListPusher, type RedisMessage, redisListProducerFactory } from '@q/redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

let server: RedisServer | undefined;
afterAll(async () => server?.dispose());

describe('Redis restart mid-run', () => {
  it('producers pause and resume, every confirmed push is consumed, nothing crashes', async () => {
    server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    // ioredis defaults: commands wait through the outage and unanswered ones are re-sent after the
    // reconnect (a claim whose reply was lost included), which is what users run with.
    const redis = new Redis(server.url);
    redis.on('error', () => {}); // connection errors while the server is down are expected
    const key = 'restart-test';
    const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 2, onError: () => {} });
    const consumed = new Set<string>();
    const events: string[] = [];
    const queue = new Queue<RedisMessage>(
      redisListProducerFactory({ redis, key, blockTimeoutMs: 100, leaseMs: 5000, logger: silent }),
      () => ({ consume: (m) => void consumed.add(m.body) }),
      { producers: 2, consumers: 2, logger: silent },
    );
    queue.on('pause', () => events.push('pause'));
    queue.on('resume', () => events.push('resume'));
    const done = queue.start();

    const confirmed: string[] = [];
    let failed = 0;
    const pushAll = async (from: number, to: number): Promise<void> => {
      const window: Promise<void>[] = [];
      for (let i = from; i < to; i++) {
        const body = `m${i}`;
        window.push(
          pusher.pushAndConfirm(body).then(
            () => void confirmed.push(body),
            () => void failed++,
          ),
        );
        if (window.length === 200) {
          await Promise.all(window.splice(0));
          await new Promise((r) => setTimeout(r, 1));
        }
      }
      await Promise.all(window);
    };
    const pushing = pushAll(0, 20_000);
    await new Promise((r) => setTimeout(r, 100));
    await server.stop();
    await new Promise((r) => setTimeout(r, 400));
    await server.start();
    await pushing;
    await pushAll(20_000, 25_000);
    const deadline = Date.now() + 30_000;
    while (confirmed.some((b) => !consumed.has(b)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await queue.stop();
    await done;
    await pusher.close();
    await redis.quit();
    expect(confirmed.filter((b) => !consumed.has(b))).toEqual([]);
    expect(confirmed.length).toBeGreaterThan(20_000);
    expect(events[0]).toBe('pause');
    expect(events).toContain('resume');
    expect(events.at(-1)).toBe('resume');
    console.log(
      `restart: ${confirmed.length} confirmed, ${failed} refused while down, ${consumed.size} consumed, events ${events.join(',')}`,
    );
  }, 60_000);
});

const silent = { error() {}, warn() {}, info() {}, debug() {} };
