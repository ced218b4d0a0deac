import { Queue, silentLogger } from '@q/core';
import { queueKeys, type RedisMessage, redisListProducerFactory } from '@q/redis';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../../test-support/tcp-proxy.js';
import { delay, until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

let proxy: TcpProxy | undefined;
let viaProxy: Redis | undefined;
afterEach(async () => {
  proxy?.resume();
  viaProxy?.disconnect();
  await proxy?.close();
});

describe('a stalled connection (nothing forwarded, nothing closed), then resumed', () => {
  it('outlasting the lease: nothing lost, duplicates no more than the stalled consumer held', async () => {
    const target = new URL(inject('redisUrl'));
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    viaProxy = new Redis(`redis://${proxy.host}:${proxy.port}`); // ioredis defaults
    viaProxy.on('error', () => {});
    const direct = client();
    const key = uniqueKey('stall');
    const keys = queueKeys(key);
    const total = 3000;
    await direct.rpush(key, ...Array.from({ length: total }, (_, i) => `s${i}`));

    const deliveries = new Map<string, number>();
    const handler = () => ({
      async consume(m: RedisMessage) {
        deliveries.set(m.body, (deliveries.get(m.body) ?? 0) + 1);
        await delay(1); // slow enough that A holds messages when its connection stalls
      },
    });
    const options = { leaseMs: 1000, blockTimeoutMs: 50, batchSize: 64, logger: silentLogger };
    // A reads through the proxy.
    const a = new Queue<RedisMessage>(redisListProducerFactory({ redis: viaProxy, key, ...options }), handler, {
      producers: 1,
      consumers: 2,
      logger: silentLogger,
    });
    const aDone = a.start();
    await until(() => deliveries.size >= 100, 20_000, 'A under way');
    const [aId] = await direct.smembers(keys.consumers);
    expect(aId).toBeDefined();

    proxy.stall();
    // Whatever the proxy had already forwarded lands; from then on A's records in Redis cannot change.
    // Read them until two readings 50 ms apart agree, so a busy machine cannot make the bound too small.
    const heldNow = async (): Promise<number> =>
      (await direct.hlen(keys.inflight(aId as string))) + (await direct.llen(keys.staging(aId as string)));
    let held = -1;
    for (let i = 0, previous = -2; i < 40 && held !== previous; i++) {
      previous = held;
      await delay(50);
      held = await heldNow();
    }
    expect(held).toBeGreaterThan(0);

    // B reads directly, takes the rest, and recovers A once A's lease has run out.
    const b = new Queue<RedisMessage>(redisListProducerFactory({ redis: direct, key, ...options }), handler, {
      producers: 1,
      consumers: 4,
      logger: silentLogger,
    });
    const bDone = b.start();
    await until(async () => (await direct.sismember(keys.consumers, aId as string)) === 0, 20_000, 'recovery of A');
    expect(proxy.connections).toBeGreaterThan(0); // stalled, not closed

    // A's held-back acks, heartbeat and claim go through now: the acks of what B recovered touch nothing.
    proxy.resume();
    await until(() => deliveries.size === total, 60_000, 'every message delivered');
    // And settled: what A took back from the retry list after the resume is consumed too, not handed
    // back by the stop below (that would be right, but would leave it for a next consumer).
    const settled = async (): Promise<boolean> => {
      if ((await direct.llen(key)) + (await direct.llen(keys.retry)) > 0) return false;
      for (const id of await direct.smembers(keys.consumers))
        if ((await direct.hlen(keys.inflight(id))) > 0) return false;
      return true;
    };
    await until(settled, 60_000, 'every message settled');
    await a.stop();
    await b.stop();
    await Promise.all([aDone, bDone]);

    // End to end: every message delivered, the extra deliveries bounded by what A held at the stall.
    let all = 0;
    for (const n of deliveries.values()) all += n;
    const duplicates = all - deliveries.size;
    console.log(`stall: ${total} sent, ${deliveries.size} delivered, ${duplicates} duplicates, ${held} held at stall`);
    expect(deliveries.size).toBe(total);
    expect(duplicates).toBeLessThanOrEqual(held);
    // Nothing left in Redis: no message, no hand-back, no consumer still registered.
    expect(await direct.llen(key)).toBe(0);
    expect(await direct.llen(keys.retry)).toBe(0);
    expect(await direct.llen(keys.dead)).toBe(0);
    expect(await direct.scard(keys.consumers)).toBe(0);
    expect(await direct.exists(keys.inflight(aId as string))).toBe(0);
  }, 120_000);
});
