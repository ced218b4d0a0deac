import { Queue, silentLogger } from '@q/core';
import { queueKeys, RedisListPusher, type RedisMessage, redisListProducerFactory, unwrapEnvelope } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

// Issue 11, item 3: the documented set-up (a RedisListPusher as the queue's dead letter) deleted a
// message from its source as soon as the pusher had buffered it, before the RPUSH ran.
describe('dead letter on Redis: a message leaves the source only once the dead-letter list has it', () => {
  it('a dead-letter key of the wrong type holds the messages; fixing it lands every one exactly once', async () => {
    const redis = client();
    const key = uniqueKey();
    const dlqKey = uniqueKey('dlq');
    const total = 40;
    await redis.rpush(key, ...Array.from({ length: total }, (_, i) => `m${i}`));
    // A string where a list should be: every RPUSH to it fails with WRONGTYPE.
    await redis.set(dlqKey, 'not a list');
    const deadLetter = new RedisListPusher({ redis, key: dlqKey, flushIntervalMs: 100 });
    const deadLettered: string[] = [];
    const dlqErrors: unknown[] = [];
    const queue = new Queue<RedisMessage>(
      redisListProducerFactory({ redis, key, blockTimeoutMs: 50, leaseMs: 2000 }),
      () => ({
        consume() {
          throw new Error('handler always fails');
        },
      }),
      {
        producers: 1,
        consumers: 4,
        deadLetter,
        deadLetterBackoff: { minDelayMs: 5, maxDelayMs: 50 },
        logger: silentLogger,
      },
    );
    queue.on('dead-letter', (m) => deadLettered.push(m.body));
    queue.on('error', (error, info) => {
      if (info.stage === 'dead-letter') dlqErrors.push(error);
    });
    const done = queue.start();
    await until(() => dlqErrors.length >= 8);
    expect(deadLettered).toEqual([]);
    // Nothing left Redis: each message is still in the list, the retry list or an in-flight record.
    const keys = queueKeys(key);
    const consumers = await redis.smembers(keys.consumers);
    let held = (await redis.llen(key)) + (await redis.llen(keys.retry));
    for (const id of consumers) held += (await redis.hlen(keys.inflight(id))) + (await redis.llen(keys.staging(id)));
    expect(held).toBe(total);

    await redis.del(dlqKey);
    await until(() => deadLettered.length === total, 20_000);
    await queue.stop();
    await done;
    await deadLetter.close();
    // Each dead letter carries its q-death record (reason rejected) in an envelope around the body.
    const stored = (await redis.lrange(dlqKey, 0, -1)).map((s) => unwrapEnvelope(s).body);
    expect(stored.sort()).toEqual(Array.from({ length: total }, (_, i) => `m${i}`).sort());
    expect(await redis.llen(key)).toBe(0);
    expect(await redis.llen(keys.retry)).toBe(0);
  });
});
