import { DEATH_HEADER, InvalidOptionError, Queue, readDeaths, silentLogger } from '@q/core';
import { queueKeys, RedisListPusher, type RedisMessage, redisListProducerFactory, unwrapEnvelope } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${i}`);

describe('q-death records on Redis dead letters (RabbitMQ x-death facts, same shape as every adapter)', () => {
  it('a handler failure: reason rejected, the source list, count 1, the time and the cause', async () => {
    const redis = client();
    const key = uniqueKey('src');
    const dlqKey = uniqueKey('dlq');
    await redis.rpush(key, ...names(10));
    const deadLetter = new RedisListPusher({ redis, key: dlqKey, flushIntervalMs: 5, logger: silentLogger });
    const before = Date.now();
    const queue = new Queue<RedisMessage>(
      redisListProducerFactory({ redis, key, blockTimeoutMs: 50, leaseMs: 2000, logger: silentLogger }),
      () => ({
        consume() {
          throw new Error('boom');
        },
      }),
      { deadLetter, logger: silentLogger },
    );
    const running = queue.start();
    await until(async () => (await redis.llen(dlqKey)) === 10, 10_000, 'the dead letters');
    await queue.stop();
    await running;
    const dead = (await redis.lrange(dlqKey, 0, -1)).map((s) => unwrapEnvelope(s));
    expect(dead.map((d) => d.body).sort()).toEqual(names(10).sort());
    for (const d of dead) {
      const [record, ...rest] = readDeaths(d.headers[DEATH_HEADER]);
      expect(rest).toEqual([]);
      expect(record).toEqual({ reason: 'rejected', queue: key, count: 1, time: expect.any(Number), cause: 'boom' });
      expect(record?.time).toBeGreaterThanOrEqual(before);
      expect(record?.time).toBeLessThanOrEqual(Date.now());
    }
    await deadLetter.close();
  });

  it('dying again in the same queue for the same reason counts up the same entry; source names the queue of bare bodies', async () => {
    const redis = client();
    const key = uniqueKey('src');
    const dlqKey = uniqueKey('dlq');
    await redis.rpush(key, 'once');
    const deadLetter = new RedisListPusher({
      redis,
      key: dlqKey,
      flushIntervalMs: 5,
      source: 'orders',
      logger: silentLogger,
    });
    const queue = new Queue<string>(
      redisListProducerFactory({ redis, key, mode: 'at-most-once', blockTimeoutMs: 50, logger: silentLogger }),
      () => ({
        consume() {
          throw new Error('still failing');
        },
      }),
      { deadLetter, logger: silentLogger },
    );
    const running = queue.start();
    await until(async () => (await redis.llen(dlqKey)) === 1, 10_000, 'the first death');
    // Shovelled back as it is, envelope and all: it fails again.
    await redis.rpush(key, (await redis.lpop(dlqKey)) as string);
    await until(async () => (await redis.llen(dlqKey)) === 1, 10_000, 'the second death');
    await queue.stop();
    await running;
    const { body, headers } = unwrapEnvelope((await redis.lindex(dlqKey, 0)) as string);
    expect(body).toBe('once');
    expect(readDeaths(headers[DEATH_HEADER])).toEqual([
      { reason: 'rejected', queue: 'orders', count: 2, time: expect.any(Number), cause: 'still failing' },
    ]);
    await deadLetter.close();
  });

  it('over maxDeliveries with a producer deadLetter: reason delivery-limit, after exactly maxDeliveries handler calls', async () => {
    const redis = client();
    const key = uniqueKey('src');
    const dlqKey = uniqueKey('dlq');
    await redis.rpush(key, ...names(20));
    const deadLetter = new RedisListPusher({ redis, key: dlqKey, flushIntervalMs: 5, logger: silentLogger });
    const calls = new Map<string, number>();
    const factory = redisListProducerFactory({
      redis,
      key,
      maxDeliveries: 2,
      deadLetter,
      blockTimeoutMs: 50,
      leaseMs: 2000,
      logger: silentLogger,
    });
    // No queue-level dead letter: a failure hands the message back (counted), so the limit ends it.
    const queue = new Queue<RedisMessage>(
      factory,
      () => ({
        consume(m) {
          calls.set(m.body, (calls.get(m.body) ?? 0) + 1);
          throw new Error('poison');
        },
      }),
      { logger: silentLogger },
    );
    const running = queue.start();
    await until(async () => (await redis.llen(dlqKey)) === 20, 15_000, 'the dead letters');
    await queue.stop();
    await running;
    expect([...calls.values()]).toEqual(Array(20).fill(2));
    const dead = (await redis.lrange(dlqKey, 0, -1)).map((s) => unwrapEnvelope(s));
    expect(dead.map((d) => d.body).sort()).toEqual(names(20).sort());
    for (const d of dead) {
      expect(readDeaths(d.headers[DEATH_HEADER])).toEqual([
        { reason: 'delivery-limit', queue: key, count: 1, time: expect.any(Number) },
      ]);
    }
    const keys = queueKeys(key);
    expect(await redis.llen(keys.dead)).toBe(0);
    expect(await redis.llen(keys.retry)).toBe(0);
    expect(await redis.llen(key)).toBe(0);
    expect(factory.stats().deadLettered).toBe(20);
    await deadLetter.close();
  });

  it('without a producer deadLetter, over maxDeliveries still goes to <tag>:q:dead as it is', async () => {
    const redis = client();
    const key = uniqueKey('src');
    await redis.rpush(key, ...names(5));
    const queue = new Queue<RedisMessage>(
      redisListProducerFactory({
        redis,
        key,
        maxDeliveries: 1,
        blockTimeoutMs: 50,
        leaseMs: 2000,
        logger: silentLogger,
      }),
      () => ({
        consume() {
          throw new Error('poison');
        },
      }),
      { logger: silentLogger },
    );
    const running = queue.start();
    const dead = queueKeys(key).dead;
    await until(async () => (await redis.llen(dead)) === 5, 10_000, 'the dead list');
    await queue.stop();
    await running;
    expect((await redis.lrange(dead, 0, -1)).sort()).toEqual(names(5).sort());
  });

  it('a push with PushInfo.reason (a source dead-lettering by itself) gets that reason, without cause', async () => {
    const redis = client();
    const dlqKey = uniqueKey('dlq');
    const pusher = new RedisListPusher({ redis, key: dlqKey, source: 'elsewhere', logger: silentLogger });
    await pusher.pushAndConfirm('late', { reason: 'expired' });
    await pusher.pushAndConfirm('plain', {});
    const [late, plain] = (await redis.lrange(dlqKey, 0, -1)).map((s) => unwrapEnvelope(s));
    expect(readDeaths(late?.headers[DEATH_HEADER])).toEqual([
      { reason: 'expired', queue: 'elsewhere', count: 1, time: expect.any(Number) },
    ]);
    // No dead-letter facts in the info: pushed as it is.
    expect(plain).toEqual({ body: 'plain', headers: {} });
    await pusher.close();
  });

  it.each([{ deadLetter: {} }, { deadLetter: 'dlq' }, { deadLetter: null }])(
    'producer option %j is refused with InvalidOptionError naming deadLetter',
    (options) => {
      const make = () => redisListProducerFactory({ redis: client(), key: 'jobs', ...(options as object) });
      expect(make).toThrow(InvalidOptionError);
      expect(make).toThrow(/deadLetter/);
    },
  );

  it('a pusher source of the wrong kind is refused', () => {
    expect(() => new RedisListPusher({ redis: client(), key: 'jobs', source: '' })).toThrow(/source/);
  });
});
