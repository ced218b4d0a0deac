import {
  DEATH_HEADER,
  EXPIRES_AT_HEADER,
  InvalidOptionError,
  type Logger,
  Queue,
  readDeaths,
  silentLogger,
} from '@q/core';
import {
  type DeliveryMode,
  queueKeys,
  RedisListPusher,
  type RedisMessage,
  redisListProducerFactory,
  unwrapEnvelope,
  wrapEnvelope,
} from '@q/redis';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: { fields: Record<string, unknown>; message: string }[] } {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  return {
    ...silentLogger,
    warn: (fields, message) => void warnings.push({ fields: { ...fields }, message }),
    warnings,
  };
}

const bodyOf = (m: unknown): string => (typeof m === 'string' ? m : (m as RedisMessage).body);

/** Runs a queue on `key` until `done()`, handing every message's inner body to `handled`. */
async function runQueue(
  redis: Redis,
  key: string,
  mode: DeliveryMode,
  extra: { deadLetter?: RedisListPusher; logger?: Logger },
  done: (handled: string[]) => boolean | Promise<boolean>,
) {
  const factory = redisListProducerFactory({ redis, key, mode, blockTimeoutMs: 50, leaseMs: 2000, ...extra });
  const handled: string[] = [];
  const queue = new Queue<unknown>(
    factory,
    () => ({ consume: (m) => void handled.push(unwrapEnvelope(bodyOf(m)).body) }),
    { producers: 1, consumers: 2, logger: silentLogger },
  );
  const running = queue.start();
  await until(() => done(handled), 20_000, 'the queue to take everything');
  await queue.stop();
  await running;
  return { handled, stats: factory.stats() };
}

describe('RedisListPusher ttlMs stamps q-expires-at', () => {
  it('in a new envelope, or into the one there, keeping the other headers and an earlier expiry', async () => {
    const redis = client();
    const key = uniqueKey('ttl');
    const pusher = new RedisListPusher({ redis, key, ttlMs: 60_000, logger: silentLogger });
    const before = Date.now();
    const soon = String(before + 1000);
    const late = String(before + 10 * 60_000);
    await pusher.pushBatch([
      'plain',
      Buffer.from('bytes'),
      wrapEnvelope('traced', { traceparent: '00-x-01' }),
      wrapEnvelope('earlier', { [EXPIRES_AT_HEADER]: soon }),
      wrapEnvelope('later', { [EXPIRES_AT_HEADER]: late }),
      { body: 'header', headers: { [EXPIRES_AT_HEADER]: soon } },
    ]);
    const after = Date.now();
    const stored = (await redis.lrange(key, 0, -1)).map((s) => unwrapEnvelope(s));
    expect(stored.map((s) => s.body)).toEqual(['plain', 'bytes', 'traced', 'earlier', 'later', 'header']);
    for (const i of [0, 1, 2, 4]) {
      const at = Number(stored[i]?.headers[EXPIRES_AT_HEADER]);
      expect(at).toBeGreaterThanOrEqual(before + 60_000);
      expect(at).toBeLessThanOrEqual(after + 60_000);
    }
    expect(stored[2]?.headers.traceparent).toBe('00-x-01');
    expect(stored[3]?.headers[EXPIRES_AT_HEADER]).toBe(soon);
    expect(stored[5]?.headers[EXPIRES_AT_HEADER]).toBe(soon);
    await pusher.close();
  });

  it.each([-1, 1.5, 2 ** 31, '100'])('ttlMs %j is refused with InvalidOptionError naming ttlMs', (ttlMs) => {
    const make = () => new RedisListPusher({ redis: client(), key: 'jobs', ttlMs: ttlMs as number });
    expect(make).toThrow(InvalidOptionError);
    expect(make).toThrow(/ttlMs/);
  });
});

describe.each(['at-most-once', 'at-least-once'] as const)('lazy expiry on receive (%s)', (mode) => {
  it('an expired message never reaches the handler; it is dead-lettered with reason expired, without its expiry', async () => {
    const redis = client();
    const key = uniqueKey('ttl');
    const dlqKey = uniqueKey('dlq');
    const expiring = new RedisListPusher({ redis, key, ttlMs: 0, logger: silentLogger });
    const lasting = new RedisListPusher({ redis, key, ttlMs: 60_000, logger: silentLogger });
    const deadLetter = new RedisListPusher({ redis, key: dlqKey, logger: silentLogger });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? expiring : lasting).pushAndConfirm(wrapEnvelope(`m${i}`, { traceparent: `t${i}` })),
      ),
    );
    const { handled, stats } = await runQueue(
      redis,
      key,
      mode,
      { deadLetter },
      async (h) => h.length === 25 && (await redis.llen(dlqKey)) === 25,
    );
    expect(handled.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `m${2 * i + 1}`).sort());
    const dead = (await redis.lrange(dlqKey, 0, -1)).map((s) => unwrapEnvelope(s));
    expect(dead.map((d) => d.body).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `m${2 * i}`).sort());
    for (const d of dead) {
      expect(d.headers[EXPIRES_AT_HEADER]).toBeUndefined();
      expect(d.headers.traceparent).toBe(`t${d.body.slice(1)}`);
      expect(readDeaths(d.headers[DEATH_HEADER])).toEqual([
        { reason: 'expired', queue: key, count: 1, time: expect.any(Number) },
      ]);
    }
    expect(stats).toEqual({ expired: 25, dropped: 0, deadLettered: 25 });
    expect(await redis.llen(key)).toBe(0);
    if (mode === 'at-least-once') expect(await redis.llen(queueKeys(key).retry)).toBe(0);
    await Promise.all([expiring.close(), lasting.close(), deadLetter.close()]);
  });

  it('without a deadLetter, an expired message is dropped, counted, and each batch of them logs one warning', async () => {
    const redis = client();
    const key = uniqueKey('ttl');
    const expiring = new RedisListPusher({ redis, key, ttlMs: 0, logger: silentLogger });
    await expiring.pushBatch(Array.from({ length: 30 }, (_, i) => `old${i}`));
    await redis.rpush(key, 'fresh');
    const logger = recordingLogger();
    const { handled, stats } = await runQueue(redis, key, mode, { logger }, (h) => h.length === 1);
    expect(handled).toEqual(['fresh']);
    expect(stats).toEqual({ expired: 30, dropped: 30, deadLettered: 0 });
    const drops = logger.warnings.filter((w) => /expired/.test(w.message));
    expect(drops.length).toBeGreaterThanOrEqual(1);
    expect(drops.reduce((n, w) => n + Number(w.fields.messages), 0)).toBe(30);
    expect(await redis.llen(key)).toBe(0);
    await expiring.close();
  });
});

describe('lazy expiry, at-least-once: an expired message leaves the list only once the dead-letter pusher confirmed it', () => {
  it('a dead-letter list of the wrong type keeps them in Redis; fixed, each lands exactly once', async () => {
    const redis = client();
    const key = uniqueKey('ttl');
    const dlqKey = uniqueKey('dlq');
    await redis.set(dlqKey, 'not a list');
    const expiring = new RedisListPusher({ redis, key, ttlMs: 0, logger: silentLogger });
    await expiring.pushBatch(Array.from({ length: 20 }, (_, i) => `m${i}`));
    const deadLetter = new RedisListPusher({ redis, key: dlqKey, flushIntervalMs: 5, logger: silentLogger });
    const factory = redisListProducerFactory({
      redis,
      key,
      blockTimeoutMs: 50,
      leaseMs: 2000,
      deadLetter,
      logger: silentLogger,
    });
    const handled: string[] = [];
    const queue = new Queue<RedisMessage>(factory, () => ({ consume: (m) => void handled.push(m.body) }), {
      logger: silentLogger,
    });
    const running = queue.start();
    const keys = queueKeys(key);
    const held = async () => {
      let n = (await redis.llen(key)) + (await redis.llen(keys.retry));
      for (const id of await redis.smembers(keys.consumers)) n += await redis.hlen(keys.inflight(id));
      return n;
    };
    await until(async () => factory.stats().expired === 20, 10_000, 'the claim');
    await new Promise((r) => setTimeout(r, 300));
    expect(await held()).toBe(20);
    expect(factory.stats().deadLettered).toBe(0);
    await redis.del(dlqKey);
    await until(() => factory.stats().deadLettered === 20, 15_000, 'the dead letters');
    await until(async () => (await held()) === 0, 5000, 'the acks');
    await queue.stop();
    await running;
    expect(handled).toEqual([]);
    const dead = (await redis.lrange(dlqKey, 0, -1)).map((s) => unwrapEnvelope(s).body);
    expect(dead.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
    await Promise.all([expiring.close(), deadLetter.close()]);
  });
});

describe('lazy expiry, at-least-once, counted end to end', () => {
  it('5,000 messages, a third with a short ttl, a slow consumer stopped and started again: each is handled exactly once or dead-lettered as expired, never both', async () => {
    const redis = client();
    const key = uniqueKey('ttl-count');
    const dlqKey = uniqueKey('dlq');
    const total = 5000;
    const short = new RedisListPusher({ redis, key, ttlMs: 300, logger: silentLogger });
    const long = new RedisListPusher({ redis, key, ttlMs: 120_000, logger: silentLogger });
    const deadLetter = new RedisListPusher({ redis, key: dlqKey, logger: silentLogger });
    const handled = new Map<string, number>();
    const stats = { expired: 0, deadLettered: 0, dropped: 0 };
    const done = async () => handled.size + (await redis.llen(dlqKey));
    /** One consumer process: a queue run until `target` messages are done, then stopped gracefully. */
    const runUntil = async (target: number) => {
      const factory = redisListProducerFactory({
        redis,
        key,
        batchSize: 64,
        deadLetter,
        blockTimeoutMs: 50,
        leaseMs: 5000,
        logger: silentLogger,
      });
      // Slow: each message holds a consumer for a timer tick or more, so the backlog ages past 300 ms.
      const queue = new Queue<RedisMessage>(
        factory,
        () => ({
          consume: async (m) => {
            await new Promise((r) => setTimeout(r, 1));
            const { body } = unwrapEnvelope(m.body);
            handled.set(body, (handled.get(body) ?? 0) + 1);
          },
        }),
        { consumers: 4, capacity: 64, logger: silentLogger },
      );
      const running = queue.start();
      await until(async () => (await done()) >= target, 45_000, `${target} messages handled or dead-lettered`);
      await queue.stop();
      await running;
      for (const [name, n] of Object.entries(factory.stats())) stats[name as keyof typeof stats] += n;
    };
    const sent = Array.from({ length: total }, (_, i) => `m${i}`);
    const isShort = (i: number) => i % 3 === 0;
    const pushing = (async () => {
      for (let from = 0; from < total; from += 500) {
        const slice = sent.slice(from, from + 500);
        await Promise.all(slice.map((m, j) => (isShort(from + j) ? short : long).pushAndConfirm(m)));
      }
    })();
    await runUntil(2000);
    // Stopped mid-run (messages in flight, dead letters under way): the next consumer takes the rest.
    await runUntil(total);
    await pushing;

    const dead = (await redis.lrange(dlqKey, 0, -1)).map((s) => unwrapEnvelope(s));
    const deadBodies = dead.map((d) => d.body);
    expect(new Set(deadBodies).size).toBe(deadBodies.length);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    expect(deadBodies.filter((b) => handled.has(b))).toEqual([]);
    expect([...handled.keys(), ...deadBodies].sort()).toEqual([...sent].sort());
    expect(dead.length).toBeGreaterThan(0);
    for (const d of dead) {
      expect(isShort(Number(d.body.slice(1)))).toBe(true);
      expect(readDeaths(d.headers[DEATH_HEADER])).toMatchObject([{ reason: 'expired', queue: key, count: 1 }]);
    }
    expect(stats.deadLettered).toBe(dead.length);
    expect(stats.dropped).toBe(0);
    expect(await redis.llen(key)).toBe(0);
    const keys = queueKeys(key);
    expect(await redis.llen(keys.retry)).toBe(0);
    await Promise.all([short.close(), long.close(), deadLetter.close()]);
  }, 60_000);
});
