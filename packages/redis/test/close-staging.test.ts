import { type Producer, Queue, silentLogger } from '@q/core';
import { queueKeys, type RedisMessage, redisListProducerFactory } from '@q/redis';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

const never = new AbortController().signal;

async function blockedIn(redis: Redis, command: string): Promise<void> {
  await until(async () => ((await redis.client('LIST')) as string).includes(`cmd=${command}`), 10_000, `a ${command}`);
}

/** Messages of `list` in Redis's custody: the list, the retry list, and registered consumers' records. */
async function inCustody(redis: Redis, list: string): Promise<number> {
  const keys = queueKeys(list);
  let n = (await redis.llen(list)) + (await redis.llen(keys.retry));
  for (const id of await redis.smembers(keys.consumers)) {
    n += (await redis.hlen(keys.inflight(id))) + (await redis.llen(keys.staging(id)));
  }
  return n;
}

/**
 * close() hands back what the consumer holds (forced recovery: its staging list, lease and
 * registration go). A BLMOVE still blocked on the server must not be able to move a message into the
 * staging list after that: nothing would ever read it.
 */
describe('close() while the producer is blocked in BLMOVE', () => {
  it('a message arriving right after the hand-back stays in the queue', async () => {
    const redis = client();
    const other = client();
    const key = uniqueKey('close-blmove');
    const keys = queueKeys(key);
    const factory = redisListProducerFactory({ redis, key, leaseMs: 1000, blockTimeoutMs: 300, logger: silentLogger });
    const a = (await factory()) as Producer<RedisMessage> & { id: string };
    // A push lands right after close()'s forced recovery: the widest the window can be.
    const scripted = redis as unknown as { qRecover(...args: unknown[]): Promise<number> };
    const recover = scripted.qRecover.bind(redis);
    scripted.qRecover = async (...args: unknown[]) => {
      const moved = await recover(...args);
      if (args[7] === 'force') await other.rpush(key, 'late');
      return moved;
    };
    const stop = new AbortController();
    const producing = a.produce(stop.signal);
    await blockedIn(other, 'blmove');
    stop.abort();
    await a.close?.();
    scripted.qRecover = recover;
    await producing;
    const b = (await factory()) as Producer<RedisMessage>;
    const got: string[] = [];
    const deadline = Date.now() + 5000;
    while (got.length === 0 && Date.now() < deadline) {
      for (const m of ((await b.produce(never)) ?? []) as RedisMessage[]) {
        got.push(m.body);
        await b.settle?.(m, { type: 'consumed' });
      }
    }
    await b.close?.();
    expect({ got, stagedForA: await redis.lrange(keys.staging(a.id), 0, -1) }).toEqual({
      got: ['late'],
      stagedForA: [],
    });
  });

  it('Queue.stop({ timeoutMs: 0 }) under a steady push: every message is consumed or still in custody', async () => {
    const redis = client();
    const other = client();
    const trials = 15;
    const stranded: number[] = [];
    for (let t = 0; t < trials; t++) {
      const key = uniqueKey('close-race');
      const keys = queueKeys(key);
      let consumed = 0;
      const q = new Queue<RedisMessage>(
        redisListProducerFactory({ redis, key, leaseMs: 1000, blockTimeoutMs: 300, logger: silentLogger }),
        () => ({
          consume: async () => {
            consumed++;
          },
        }),
        { logger: silentLogger },
      );
      q.on('error', () => {});
      const done = q.start();
      await blockedIn(other, 'blmove');
      const pushes: Promise<unknown>[] = [];
      const timer = setInterval(() => pushes.push(other.rpush(key, `m${pushes.length}`)), 1);
      await delay(Math.random() * 3);
      await q.stop({ timeoutMs: 0 });
      await done;
      await delay(10);
      clearInterval(timer);
      await Promise.all(pushes);
      // close() goes on after stop() resolved (the deadline passed): wait until it let go.
      await until(async () => (await redis.scard(keys.consumers)) === 0, 10_000, 'close() to finish');
      await delay(50);
      const missing = pushes.length - consumed - (await inCustody(redis, key));
      if (missing !== 0) stranded.push(missing);
    }
    expect(stranded).toEqual([]);
  }, 60_000);
});
