import { ExecutorClosedError, InvalidOptionError, type ProducerFactory, Queue, silentLogger } from '@q/core';
import { InvalidMessageError, queueKeys, RedisListPusher, type RedisMessage, redisListProducerFactory } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

describe('rq XOR test: 1,000 messages, every one delivered once', () => {
  for (const mode of ['at-most-once', 'at-least-once'] as const) {
    it(mode, async () => {
      const redis = client();
      const key = uniqueKey();
      const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 5 });
      let expected = 0;
      for (let i = 0; i < 1000; i++) {
        const message = JSON.stringify({ time: Date.now(), payload: i });
        await pusher.push(message);
        expected ^= i;
      }
      await pusher.close();
      let xor = 0;
      let count = 0;
      const payload = (m: string | RedisMessage): number =>
        (JSON.parse(typeof m === 'string' ? m : m.body) as { payload: number }).payload;
      const queue = new Queue<string | RedisMessage>(
        redisListProducerFactory({ redis, key, mode, blockTimeoutMs: 50 }) as ProducerFactory<string | RedisMessage>,
        () => ({
          consume(m) {
            xor ^= payload(m);
            count++;
          },
        }),
        { producers: 1, consumers: 1 },
      );
      const done = queue.start();
      await until(() => count === 1000);
      await queue.stop();
      await done;
      expect(count).toBe(1000);
      expect(xor).toBe(expected);
      expect(await redis.llen(key)).toBe(0);
      if (mode === 'at-least-once') {
        // Everything acked: no in-flight record, no consumer left registered.
        const keys = queueKeys(key);
        expect(await redis.scard(keys.consumers)).toBe(0);
        expect(await redis.llen(keys.retry)).toBe(0);
      }
    });
  }
});

describe('RedisListPusher', () => {
  it('writes chunks with one RPUSH each, flushes on close, keeps order', async () => {
    const redis = client();
    const key = uniqueKey();
    const pusher = new RedisListPusher({ redis, key, chunkBytes: 1000, flushIntervalMs: 60_000 });
    for (let i = 0; i < 250; i++) await pusher.push(`m-${String(i).padStart(5, '0')}`); // 7 bytes each
    // 142 full chunks' worth went out; the rest waits for close().
    expect(await redis.llen(key)).toBeLessThan(250);
    await pusher.close();
    expect(await redis.lrange(key, 0, -1)).toEqual(
      Array.from({ length: 250 }, (_, i) => `m-${String(i).padStart(5, '0')}`),
    );
  });

  it('pushAndConfirm resolves once Redis has the message; Buffers and { body } are accepted', async () => {
    const redis = client();
    const key = uniqueKey();
    const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 5 });
    await pusher.pushAndConfirm('a');
    expect(await redis.lrange(key, 0, -1)).toEqual(['a']);
    await pusher.pushAndConfirm(Buffer.from('b'));
    await pusher.pushAndConfirm({ body: 'c' });
    expect(await redis.lrange(key, 0, -1)).toEqual(['a', 'b', 'c']);
    expect(pusher.name()).toMatch(/^node\/127\.0\.0\.1:\d+\//);
    expect(pusher.name().endsWith(`/${key}`)).toBe(true);
    await pusher.close();
  });

  it('a failed write rejects its confirms and reaches onError', async () => {
    const redis = client();
    const key = uniqueKey();
    await redis.set(key, 'not a list');
    const failures: number[] = [];
    const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 5, onError: (_e, m) => failures.push(m.length) });
    await expect(pusher.pushAndConfirm('x')).rejects.toThrow(/WRONGTYPE/);
    expect(failures).toEqual([1]);
    await pusher.close();
  });

  it('bad input gets a typed error', async () => {
    const redis = client();
    expect(() => new RedisListPusher({ redis, key: '' })).toThrow(InvalidOptionError);
    expect(() => new RedisListPusher({ redis: undefined as never, key: 'k' })).toThrow(/redis/);
    expect(() => new RedisListPusher({ redis, key: 'k', chunkBytes: 0 })).toThrow(/chunkBytes/);
    const pusher = new RedisListPusher({ redis, key: uniqueKey() });
    await expect(pusher.push(42 as never)).rejects.toBeInstanceOf(InvalidMessageError);
    await expect(pusher.pushAndConfirm({ body: 1 } as never)).rejects.toBeInstanceOf(InvalidMessageError);
    await pusher.close();
    // After close: a rejection, never a synchronous throw, from either method.
    await expect(pusher.push('late')).rejects.toBeInstanceOf(ExecutorClosedError);
    await expect(pusher.pushAndConfirm('late')).rejects.toBeInstanceOf(ExecutorClosedError);
  });
});

describe('producers: options', () => {
  it('bad input gets a typed error naming the option', () => {
    const redis = client();
    const bad = (o: object, option: string): void => {
      let error: unknown;
      try {
        redisListProducerFactory({ redis, key: 'k', ...o } as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(option);
    };
    bad({ key: '' }, 'key');
    bad({ key: undefined }, 'key');
    bad({ batchSize: 0 }, 'batchSize');
    bad({ batchSize: 1.5 }, 'batchSize');
    bad({ mode: 'exactly-once' }, 'mode');
    bad({ redis: {} }, 'redis');
    bad({ leaseMs: 10 }, 'leaseMs');
    bad({ maxDeliveries: -1 }, 'maxDeliveries');
    bad({ blockTimeoutMs: 0 }, 'blockTimeoutMs');
  });
});

describe('at-least-once', () => {
  it('a failed message is handed back and delivered again, with its delivery count', async () => {
    const redis = client();
    const key = uniqueKey();
    await redis.rpush(key, 'poison', 'fine');
    const deliveries: [string, number][] = [];
    const queue = new Queue<RedisMessage>(
      redisListProducerFactory({ redis, key, blockTimeoutMs: 20, maxDeliveries: 3 }),
      () => ({
        consume(m) {
          deliveries.push([m.body, m.deliveries]);
          if (m.body === 'poison') throw new Error('cannot handle');
        },
      }),
      { producers: 1, consumers: 1, logger: silentLogger },
    );
    const done = queue.start();
    const keys = queueKeys(key);
    await until(async () => (await redis.llen(keys.dead)) === 1);
    await queue.stop();
    await done;
    expect(deliveries.filter(([b]) => b === 'poison').map(([, n]) => n)).toEqual([1, 2, 3]);
    expect(deliveries.filter(([b]) => b === 'fine')).toEqual([['fine', 1]]);
    expect(await redis.lrange(keys.dead, 0, -1)).toEqual(['poison']);
  });

  it('messages of a consumer whose lease expired go back to the list and are delivered again', async () => {
    const redis = client();
    const key = uniqueKey();
    await redis.rpush(key, 'a', 'b', 'c');
    const keys = queueKeys(key);
    // A consumer that claims and then "dies": its producer is made but never settles or closes.
    const factory = redisListProducerFactory({ redis, key, leaseMs: 200, blockTimeoutMs: 20 });
    const dying = await factory();
    const claimed = (await dying.produce(new AbortController().signal)) as RedisMessage[];
    expect(claimed.map((m) => m.body)).toEqual(['a', 'b', 'c']);
    expect(await redis.llen(key)).toBe(0);
    const [id] = await redis.smembers(keys.consumers);
    expect(await redis.hlen(keys.inflight(id as string))).toBe(3);
    // Its heartbeat stops as if the process died (the timer is the only thing keeping the lease).
    await redis.del(keys.lease(id as string));

    const seen: [string, number][] = [];
    const queue = new Queue<RedisMessage>(
      redisListProducerFactory({ redis, key, leaseMs: 200, blockTimeoutMs: 20 }),
      () => ({ consume: (m) => void seen.push([m.body, m.deliveries]) }),
      { producers: 1, consumers: 1 },
    );
    const done = queue.start();
    await until(() => seen.length === 3);
    await queue.stop();
    await done;
    await dying.close?.();
    expect(seen).toEqual([
      ['a', 2],
      ['b', 2],
      ['c', 2],
    ]);
  });

  it('what is unconsumed at stop is handed back uncounted, not lost', async () => {
    const redis = client();
    const key = uniqueKey();
    await redis.rpush(key, ...Array.from({ length: 100 }, (_, i) => String(i)));
    const consumed: string[] = [];
    const queue = new Queue<RedisMessage>(
      redisListProducerFactory({ redis, key, blockTimeoutMs: 20 }),
      () => ({
        async consume(m) {
          if (consumed.length >= 10) await new Promise(() => {});
          consumed.push(m.body);
        },
      }),
      { producers: 1, consumers: 1 },
    );
    const done = queue.start();
    await until(() => consumed.length === 10);
    await queue.stop({ timeoutMs: 50 });
    await done;
    const keys = queueKeys(key);
    const everything = async () => {
      const left = [...(await redis.lrange(key, 0, -1)), ...(await redis.lrange(keys.retry, 0, -1))];
      const bodies = left.map((v) => (v.includes(':') ? v.slice(v.indexOf(':') + 1) : v));
      return [...consumed, ...bodies].map(Number).sort((a, b) => a - b);
    };
    // start() resolves at the stop deadline; the producer's close() (the hand-back) may finish after.
    await until(async () => (await everything()).length >= 100, 5_000).catch(() => {});
    expect(await everything()).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Handed back at stop: delivery counts undone.
    for (const v of await redis.lrange(keys.retry, 0, -1)) expect(v.startsWith('0:')).toBe(true);
  });

  it('scripts survive SCRIPT FLUSH', async () => {
    const redis = client();
    const key = uniqueKey();
    await redis.rpush(key, 'x', 'y');
    const producer = await redisListProducerFactory({ redis, key, blockTimeoutMs: 20 })();
    const first = (await producer.produce(new AbortController().signal)) as RedisMessage[];
    const keys = queueKeys(key);
    const [id] = await redis.smembers(keys.consumers);
    expect(await redis.hlen(keys.inflight(id as string))).toBe(2);
    await redis.script('FLUSH');
    await redis.rpush(key, 'z');
    const second = (await producer.produce(new AbortController().signal)) as RedisMessage[];
    expect([...first, ...second].map((m) => m.body)).toEqual(['x', 'y', 'z']);
    for (const m of [...first, ...second]) await producer.settle?.(m, { type: 'consumed' });
    // The acks (sent in a batch) empty this consumer's in-flight record while it lives...
    await until(async () => (await redis.hlen(keys.inflight(id as string))) === 0, 10_000, 'acks applied');
    await producer.close?.();
    // ...so close() has nothing to hand back, and forgets the consumer.
    expect(await redis.llen(keys.retry)).toBe(0);
    expect(await redis.exists(keys.inflight(id as string), keys.lease(id as string), keys.claim(id as string))).toBe(0);
    expect(await redis.sismember(keys.consumers, id as string)).toBe(0);
  });
});

describe('at-most-once', () => {
  it('takes batches in FIFO order with LPOP n and blocks with BLMPOP only when empty', async () => {
    const redis = client();
    const key = uniqueKey();
    await redis.rpush(key, ...Array.from({ length: 10 }, (_, i) => String(i)));
    const producer = await redisListProducerFactory({
      redis,
      key,
      mode: 'at-most-once',
      batchSize: 4,
      // Long enough that the BLMPOP is still waiting when the push 20 ms later lands on a slow machine
      // (at 50 ms it could time out first and answer nothing), and longer than the bound below.
      blockTimeoutMs: 2000,
    })();
    const signal = new AbortController().signal;
    expect(await producer.produce(signal)).toEqual(['0', '1', '2', '3']);
    expect(await producer.produce(signal)).toEqual(['4', '5', '6', '7']);
    expect(await producer.produce(signal)).toEqual(['8', '9']);
    const t0 = Date.now();
    const waiting = producer.produce(signal);
    setTimeout(() => void redis.rpush(key, 'late'), 20);
    expect(await waiting).toEqual(['late']);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await producer.produce(signal)).toBeUndefined();
    await producer.close?.();
  });

  it('Buffers come back as Buffers', async () => {
    const redis = client();
    const key = uniqueKey();
    const bytes = Buffer.from([0, 255, 10, 13]);
    await redis.rpush(key, bytes);
    const producer = await redisListProducerFactory({ redis, key, mode: 'at-most-once', buffers: true })();
    const got = (await producer.produce(new AbortController().signal)) as Buffer[];
    expect(Buffer.compare(got[0] as Buffer, bytes)).toBe(0);
    await producer.close?.();
  });
});
