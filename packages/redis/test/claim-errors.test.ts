import { type Producer, silentLogger } from '@q/core';
import { queueKeys, type RedisMessage, redisListProducerFactory } from '@q/redis';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

const signal = new AbortController().signal;

/** Every message body anywhere in the queue's keys (lists and in-flight hashes), in Redis's custody. */
async function bodiesInRedis(redis: Redis, list: string): Promise<string[]> {
  const keys = queueKeys(list);
  const out: string[] = [];
  const strip = (v: string): string => v.slice(v.indexOf(':') + 1);
  if ((await redis.type(list)) === 'list') out.push(...(await redis.lrange(list, 0, -1)));
  out.push(...(await redis.lrange(keys.retry, 0, -1)).map(strip));
  if ((await redis.type(keys.dead)) === 'list') out.push(...(await redis.lrange(keys.dead, 0, -1)));
  for (const id of await redis.smembers(keys.consumers)) {
    out.push(...Object.values(await redis.hgetall(keys.inflight(id))).map(strip));
    out.push(...(await redis.lrange(keys.staging(id), 0, -1)));
  }
  return out;
}

/**
 * Redis does not roll a Lua script back when a command in it fails: whatever ran before the error
 * stays. A claim that fails half-way (a key of the wrong type, an operator's mistake or a name clash)
 * must fail before its first write, so every message stays where it was.
 */
describe('a claim that fails on a key of the wrong type', () => {
  it('touches nothing: a message taken from the retry list is not overwritten by the next claim (main list WRONGTYPE)', async () => {
    const redis = client();
    const key = uniqueKey('claim-wrongtype');
    const keys = queueKeys(key);
    const factory = redisListProducerFactory({
      redis,
      key,
      leaseMs: 60_000,
      blockTimeoutMs: 50,
      batchSize: 10,
      logger: silentLogger,
    });
    await redis.rpush(keys.retry, '1:m1');
    await redis.set(key, 'not a list');
    const a = (await factory()) as Producer<RedisMessage>;
    expect(await a.produce(signal)).toBeUndefined();
    // Nothing moved: m1 is still in the retry list, not in an in-flight entry under an id the
    // counter does not account for.
    expect(await redis.lrange(keys.retry, 0, -1)).toEqual(['1:m1']);
    await redis.del(key);
    await redis.rpush(key, 'm2');
    const delivered = new Set<string>();
    for (let i = 0; i < 5; i++) {
      for (const m of ((await a.produce(signal)) ?? []) as RedisMessage[]) {
        delivered.add(m.body);
        await a.settle?.(m, { type: 'consumed' });
      }
    }
    await a.close?.();
    expect({ delivered: [...delivered].sort(), left: await bodiesInRedis(redis, key) }).toEqual({
      delivered: ['m1', 'm2'],
      left: [],
    });
  });

  it('touches nothing: a message over maxDeliveries is kept when the dead-letter list has the wrong type', async () => {
    const redis = client();
    const key = uniqueKey('claim-dead-wrongtype');
    const keys = queueKeys(key);
    const factory = redisListProducerFactory({
      redis,
      key,
      leaseMs: 60_000,
      blockTimeoutMs: 50,
      maxDeliveries: 5,
      logger: silentLogger,
    });
    await redis.rpush(keys.retry, '5:poison');
    await redis.set(keys.dead, 'not a list');
    const a = (await factory()) as Producer<RedisMessage>;
    expect(await a.produce(signal)).toBeUndefined();
    expect(await redis.lrange(keys.retry, 0, -1)).toEqual(['5:poison']);
    await redis.del(keys.dead);
    expect(await a.produce(signal)).toBeUndefined();
    await a.close?.();
    expect(await redis.lrange(keys.dead, 0, -1)).toEqual(['poison']);
    expect(await bodiesInRedis(redis, key)).toEqual(['poison']);
  });

  it('a staging list of the wrong type fails the claim before any write', async () => {
    const redis = client();
    const key = uniqueKey('claim-staging-wrongtype');
    const keys = queueKeys(key);
    await redis.rpush(key, 'm1');
    await redis.rpush(keys.retry, '1:m0');
    const a = (await redisListProducerFactory({
      redis,
      key,
      leaseMs: 60_000,
      blockTimeoutMs: 50,
      logger: silentLogger,
    })()) as Producer<RedisMessage> & { id: string };
    await redis.set(keys.staging(a.id), 'not a list');
    expect(await a.produce(signal)).toBeUndefined();
    expect([
      await redis.lrange(key, 0, -1),
      await redis.lrange(keys.retry, 0, -1),
      await redis.hlen(keys.inflight(a.id)),
    ]).toEqual([['m1'], ['1:m0'], 0]);
    await redis.del(keys.staging(a.id));
    await a.close?.();
  });
});

describe('the last-claim record', () => {
  it('is refreshed by every claim, so a consumer recovered while alive keeps it for as long as it claims', async () => {
    const redis = client();
    const key = uniqueKey('claim-ttl');
    const keys = queueKeys(key);
    const factory = redisListProducerFactory({ redis, key, leaseMs: 60_000, blockTimeoutMs: 20, logger: silentLogger });
    const a = (await factory()) as Producer<RedisMessage> & { id: string };
    await redis.rpush(key, 'm1');
    const [m1] = (await a.produce(signal)) as RedisMessage[];
    const day = 86_400_000;
    expect(await redis.pttl(keys.claim(a.id))).toBeGreaterThan(day - 60_000);
    // A's lease runs out while it lives; B recovers it.
    await redis.del(keys.lease(a.id));
    const b = await factory();
    await until(async () => (await redis.lrange(keys.retry, 0, -1)).length === 1, 10_000, 'recovery of A');
    // Much later (simulated): the record is about to expire. A claims again: the record lives a day again.
    await redis.pexpire(keys.claim(a.id), 1000);
    await redis.rpush(key, 'm2');
    const again = (await a.produce(signal)) as RedisMessage[];
    expect(again.map((m) => m.body)).toEqual(['m1', 'm2']);
    expect(await redis.pttl(keys.claim(a.id))).toBeGreaterThan(day - 60_000);
    for (const m of [m1 as RedisMessage, ...again]) await a.settle?.(m, { type: 'consumed' });
    await a.close?.();
    await b.close?.();
    expect(await bodiesInRedis(redis, key)).toEqual([]);
  });
});
