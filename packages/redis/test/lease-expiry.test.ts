import type { Producer } from '@q/core';
import { queueKeys, type RedisMessage, redisListProducerFactory } from '@q/redis';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { until } from '../../../test-support/wait.js';
import { client, uniqueKey } from './support/clients.js';

type AtLeastOnce = Producer<RedisMessage>;
const signal = new AbortController().signal;

/**
 * A consumer whose lease runs out while it lives (a GC pause, a blocked event loop, a partition
 * longer than `leaseMs`): another instance recovers its messages, and it keeps working with the
 * messages it still holds in memory. Its settles for those must touch nothing that is not its own.
 */
describe('a lease that expires while its holder lives', () => {
  /**
   * A with a long lease, so its heartbeat never runs during the test (every 20 s): its lease only
   * ends when the test deletes it, exactly where the test wants. B recovers A on creation.
   */
  async function loseLease(redis: Redis, key: string): Promise<{ a: AtLeastOnce; b: AtLeastOnce; m1: RedisMessage }> {
    const keys = queueKeys(key);
    const factory = redisListProducerFactory({ redis, key, leaseMs: 60_000, blockTimeoutMs: 20, batchSize: 1 });
    await redis.rpush(key, 'm1');
    const a = await factory();
    const [m1] = (await a.produce(signal)) as RedisMessage[];
    expect(m1?.body).toBe('m1');
    const [aId] = await redis.smembers(keys.consumers);
    await redis.del(keys.lease(aId as string));
    const b = await factory();
    // B's first recovery pass hands A's m1 back to the retry list (A stays registered a lease longer:
    // a late BLMOVE of its could still land in its staging list).
    await until(async () => (await redis.hlen(keys.inflight(aId as string))) === 0, 10_000, 'recovery of A');
    return { a, b, m1: m1 as RedisMessage };
  }

  it("a stale holder's ack does not delete a newer claim's entry: every message stays in custody", async () => {
    const redis = client();
    const key = uniqueKey('lease');
    const keys = queueKeys(key);
    const { a, b, m1 } = await loseLease(redis, key);
    const delivered: string[] = [m1.body];
    // B takes m1 from the retry list: its second delivery.
    const [again] = (await b.produce(signal)) as RedisMessage[];
    expect([again?.body, again?.deliveries]).toEqual(['m1', 2]);
    delivered.push((again as RedisMessage).body);
    // A, alive, claims m2, then acks the m1 it still held from before it lost its lease.
    await redis.rpush(key, 'm2');
    const [m2] = (await a.produce(signal)) as RedisMessage[];
    expect(m2?.body).toBe('m2');
    delivered.push((m2 as RedisMessage).body);
    await a.settle?.(m1, { type: 'consumed' });
    // A closes without settling m2 (as if it crashed): close() sends the ack first, then hands back
    // what A's in-flight record still holds. m2 must be there, and B gets it.
    await a.close?.();
    expect(await redis.lrange(keys.retry, 0, -1)).toEqual(['1:m2']);
    const [m2again] = (await b.produce(signal)) as RedisMessage[];
    expect(m2again?.body).toBe('m2');
    delivered.push((m2again as RedisMessage).body);
    await b.settle?.(again as RedisMessage, { type: 'consumed' });
    await b.settle?.(m2again as RedisMessage, { type: 'consumed' });
    await b.close?.();
    // End to end: 2 messages, 4 deliveries (m1 twice through the recovery, m2 twice through A's
    // hand-back), every one acked, nothing left anywhere.
    expect(delivered.sort()).toEqual(['m1', 'm1', 'm2', 'm2']);
    expect(m2?.id).not.toBe(m1.id);
    expect(await redis.llen(key)).toBe(0);
    expect(await redis.llen(keys.retry)).toBe(0);
    expect(await redis.llen(keys.dead)).toBe(0);
    expect(await redis.scard(keys.consumers)).toBe(0);
  });

  it("a stale holder's failure does not hand back a newer claim's message", async () => {
    const redis = client();
    const key = uniqueKey('lease');
    const keys = queueKeys(key);
    const { a, b, m1 } = await loseLease(redis, key);
    const [again] = (await b.produce(signal)) as RedisMessage[];
    expect(again?.body).toBe('m1');
    await redis.rpush(key, 'm2', 'm3');
    const [m2] = (await a.produce(signal)) as RedisMessage[];
    const [m3] = (await a.produce(signal)) as RedisMessage[];
    expect([m2?.body, m3?.body]).toEqual(['m2', 'm3']);
    // A's handler failed on the stale m1 (B holds it now) and on m3 (its own). m3's hand-back, sent in
    // the same batch as m1's or after it, shows when both went through.
    await a.settle?.(m1, { type: 'failed', error: new Error('boom'), attempts: 1 });
    await a.settle?.(m3 as RedisMessage, { type: 'failed', error: new Error('boom'), attempts: 1 });
    await until(async () => (await redis.lrange(keys.retry, 0, -1)).includes('1:m3'), 10_000, "m3's hand-back");
    // Only m3 came back: m1 is B's, and m2 is still A's (an entry '1:m2' here would deliver it twice).
    expect(await redis.lrange(keys.retry, 0, -1)).toEqual(['1:m3']);
    await a.settle?.(m2 as RedisMessage, { type: 'consumed' });
    await a.close?.();
    await b.settle?.(again as RedisMessage, { type: 'consumed' });
    const [m3again] = (await b.produce(signal)) as RedisMessage[];
    expect([m3again?.body, m3again?.deliveries]).toEqual(['m3', 2]);
    await b.settle?.(m3again as RedisMessage, { type: 'consumed' });
    await b.close?.();
    // End to end: m1 delivered to A and B, m2 once to A, m3 to A and again to B, all acked, nothing left.
    expect(await redis.llen(key)).toBe(0);
    expect(await redis.llen(keys.retry)).toBe(0);
    expect(await redis.scard(keys.consumers)).toBe(0);
  });

  it('delivery ids never repeat for a consumer, even after its records were recovered', async () => {
    const redis = client();
    const key = uniqueKey('lease');
    const { a, b, m1 } = await loseLease(redis, key);
    await redis.rpush(key, 'm2', 'm3');
    const ids = [m1.id];
    for (let i = 0; i < 3; i++) {
      const got = ((await a.produce(signal)) as RedisMessage[] | undefined) ?? [];
      for (const m of got) {
        ids.push(m.id);
        await a.settle?.(m, { type: 'consumed' });
      }
    }
    // A got m1 again (from the retry list), m2 and m3: four deliveries, four distinct ids.
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    await a.close?.();
    await b.close?.();
  });
});
