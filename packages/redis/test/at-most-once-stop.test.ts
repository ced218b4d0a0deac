import { Queue, silentLogger } from '@q/core';
import { redisListProducerFactory } from '@q/redis';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { delay, until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

async function blockedIn(redis: Redis, command: string): Promise<void> {
  await until(async () => ((await redis.client('LIST')) as string).includes(`cmd=${command}`), 10_000, `a ${command}`);
}

/** At-most-once loses what a crash held, but never what a graceful stop held. */
describe('at-most-once: stopping never drops a popped batch', () => {
  it('`await queue.stop(); await redis.quit()` while an LPOP is unanswered: the late batch goes back first', async () => {
    const redis = client();
    const admin = client();
    const key = uniqueKey('amo-stop-quit');
    const n = 20_000;
    for (let i = 0; i < n; i += 1000) await admin.rpush(key, ...Array.from({ length: 1000 }, (_, j) => `m${i + j}`));
    let consumed = 0;
    const q = new Queue(
      redisListProducerFactory({ redis, key, mode: 'at-most-once', batchSize: 256, logger: silentLogger }),
      () => ({
        consume: async () => {
          consumed++;
        },
      }),
      { logger: silentLogger },
    );
    q.on('error', () => {});
    const done = q.start();
    await until(() => consumed > 0, 10_000, 'the first message');
    // The server is busy for 300 ms (another application's slow script; or a long round trip).
    const busy = admin.eval(
      `local t0 = redis.call('TIME') while true do local t = redis.call('TIME') if (t[1]-t0[1])*1000000 + (t[2]-t0[2]) > 300000 then return 1 end end`,
      0,
    );
    await delay(30);
    await q.stop();
    await done;
    await redis.quit();
    await busy;
    await delay(200);
    expect(consumed + (await admin.llen(key))).toBe(n);
  });

  it('Queue.stop({ timeoutMs: 0 }) while BLMPOP waits and messages arrive: nothing popped is dropped', async () => {
    const redis = client();
    const other = client();
    const trials = 15;
    const lost: number[] = [];
    for (let t = 0; t < trials; t++) {
      const key = uniqueKey('amo-blmpop');
      let consumed = 0;
      const q = new Queue(
        redisListProducerFactory({ redis, key, mode: 'at-most-once', blockTimeoutMs: 3000, logger: silentLogger }),
        () => ({
          consume: async () => {
            consumed++;
          },
        }),
        { logger: silentLogger },
      );
      q.on('error', () => {});
      const done = q.start();
      await blockedIn(other, 'blmpop');
      const pushes: Promise<unknown>[] = [];
      const timer = setInterval(() => pushes.push(other.rpush(key, `m${pushes.length}`)), 1);
      await delay(Math.random() * 3);
      await q.stop({ timeoutMs: 0 });
      await done;
      await delay(10);
      clearInterval(timer);
      await Promise.all(pushes);
      // close() goes on after stop() resolved (the deadline passed); give it time to hand back.
      await delay(300);
      const missing = pushes.length - consumed - (await other.llen(key));
      if (missing !== 0) lost.push(missing);
    }
    expect(lost).toEqual([]);
  }, 60_000);
});
