import { Queue, silentLogger } from '@q/core';
import { RedisListPusher, redisListProducerFactory } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

/**
 * A producer dead-letters up to 4 × batchSize messages at once, each waiting on the producer's own
 * abort signals (`pushAndConfirm(body, { signal })`, back-off `sleep(ms, signal)`). Past 10 listeners
 * Node prints a MaxListenersExceededWarning ("possible memory leak") to stderr: ordinary traffic
 * (a burst of expired messages while the destination is briefly down) must not.
 */
describe.each(['at-least-once', 'at-most-once'] as const)('review: producer dead letters (%s)', (mode) => {
  it('dead-letter destination failing for 700 ms, then recovering: no MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    const redis = client();
    const key = uniqueKey('dl-listeners');
    const deadKey = uniqueKey('dl-listeners-dead');
    // The destination fails for a moment (a key of the wrong type), then recovers.
    await redis.set(deadKey, 'not a list');
    const stamp = new RedisListPusher({ redis, key, ttlMs: 0, logger: silentLogger });
    await stamp.pushBatch(Array.from({ length: 200 }, (_, i) => `m${i}`));
    await delay(5);
    const dead = new RedisListPusher({ redis, key: deadKey, logger: silentLogger });
    const factory = redisListProducerFactory({
      redis,
      key,
      mode,
      batchSize: 50,
      blockTimeoutMs: 50,
      leaseMs: 2000,
      deadLetter: dead,
      logger: silentLogger,
    });
    const queue = new Queue<unknown>(factory, () => ({ consume: () => {} }), { logger: silentLogger });
    const running = queue.start();
    try {
      await delay(700);
      await redis.del(deadKey);
      await until(async () => (await redis.llen(deadKey)) === 200, 15_000, 'every dead letter');
      await delay(50); // the warning is emitted on the next tick
    } finally {
      await queue.stop();
      await running;
      await dead.close();
      await stamp.close();
      process.off('warning', onWarning);
    }
    expect(factory.stats().deadLettered).toBe(200);
    // Observed: one "Possible EventTarget memory leak detected. 11 abort listeners added to [AbortSignal]".
    expect(warnings).toEqual([]);
  }, 30_000);
});
