import { InvalidOptionError, Queue, silentLogger, UnroutableError } from '@q/core';
import { queueKeys, RedisListPusher, redisListProducerFactory } from '@q/redis';
import { describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

describe.each(['at-most-once', 'at-least-once'] as const)('RedisListPusher mandatory (%s producers)', (mode) => {
  it('no producer: UnroutableError and nothing stored; a running producer: delivered; closed: UnroutableError again', async () => {
    const redis = client();
    const key = uniqueKey('mandatory');
    const pusher = new RedisListPusher({ redis, key, mandatory: true, mandatoryCacheMs: 50, logger: silentLogger });
    const refused = [pusher.push('a'), pusher.pushAndConfirm('b'), pusher.pushBatch(['c', 'd'])];
    for (const result of await Promise.allSettled(refused)) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason;
      expect(error).toBeInstanceOf(UnroutableError);
      expect(error).toMatchObject({ code: 'Q_UNROUTABLE', destination: key });
    }
    await pusher.flush();
    expect(await redis.exists(key)).toBe(0);

    const handled: string[] = [];
    const queue = new Queue<unknown>(
      redisListProducerFactory({ redis, key, mode, blockTimeoutMs: 50, leaseMs: 1000, logger: silentLogger }),
      () => ({ consume: (m) => void handled.push(typeof m === 'string' ? m : (m as { body: string }).body) }),
      { logger: silentLogger },
    );
    const running = queue.start();
    // The factory registers before it hands the producer over; the queue starts it shortly after start().
    await until(async () => (await redis.zcard(queueKeys(key).readers)) >= 1, 5000, 'the registration');
    const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
    await Promise.all(sent.map((m) => pusher.pushAndConfirm(m)));
    await until(() => handled.length === 100, 10_000, 'the messages');
    expect(handled.sort()).toEqual([...sent].sort());
    await queue.stop();
    await running;

    expect(await redis.zcard(queueKeys(key).readers)).toBe(0);
    await delay(60); // past the cached yes
    await expect(pusher.pushAndConfirm('late')).rejects.toBeInstanceOf(UnroutableError);
    expect(await redis.exists(key)).toBe(0);
    await pusher.close();
  });
});

describe('RedisListPusher mandatory: a producer that stops renewing its registration', () => {
  it('counts until its registration expires (leaseMs), then pushes are unroutable', async () => {
    const redis = client();
    const key = uniqueKey('mandatory');
    const pusher = new RedisListPusher({ redis, key, mandatory: true, mandatoryCacheMs: 0, logger: silentLogger });
    // Its own client, cut off after the registration: no renewal, no unregistration (as if it crashed).
    const doomed = client();
    const producer = await redisListProducerFactory({
      redis: doomed,
      key,
      mode: 'at-most-once',
      leaseMs: 400,
      logger: silentLogger,
    })();
    await pusher.pushAndConfirm('while registered');
    doomed.disconnect();
    await until(
      async () =>
        await pusher.pushAndConfirm('probe').then(
          () => false,
          (e) => e instanceof UnroutableError,
        ),
      5000,
      'the registration to expire',
    );
    expect(await redis.lindex(key, 0)).toBe('while registered');
    await producer.close?.();
    await pusher.close();
  });

  it.each([{ mandatory: 'yes' }, { mandatory: true, mandatoryCacheMs: -1 }, { mandatory: true, key: 'jobs{}' }])(
    '%j is refused with InvalidOptionError',
    (options) => {
      const make = () => new RedisListPusher({ redis: client(), key: 'jobs', ...(options as object) });
      expect(make).toThrow(InvalidOptionError);
    },
  );
});
