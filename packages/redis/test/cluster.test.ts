import { OUTBOX_ID_HEADER, Queue } from '@q/core';
import { hashTag, queueKeys, RedisListPusher, type RedisMessage, redisListProducerFactory } from '@q/redis';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashRun } from './support/crash-run.js';
import { type RedisCluster, startRedisCluster } from './support/redis-server.js';

let cluster: RedisCluster;
let redis: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  redis = new Cluster(cluster.nodes);
}, 60_000);

afterAll(async () => {
  await redis?.quit();
  await cluster?.dispose();
});

/** Keys that land on different masters: the cluster's slot of each is owned by a different node. */
async function keysOnDifferentNodes(count: number): Promise<string[]> {
  const keys: string[] = [];
  const owners = new Set<string>();
  for (let i = 0; keys.length < count && i < 1000; i++) {
    const key = `cluster-q-${i}`;
    const slot = Number(await redis.cluster('KEYSLOT', key));
    const slots = (await redis.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
    const owner = slots.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
    if (owner !== undefined && !owners.has(String(owner))) {
      owners.add(String(owner));
      keys.push(key);
    }
  }
  return keys;
}

describe('Redis Cluster (3 masters)', () => {
  it('the pusher and an at-least-once queue work on several queues spread over the nodes', async () => {
    const keys = await keysOnDifferentNodes(3);
    expect(keys).toHaveLength(3);
    for (const key of keys) {
      const pusher = new RedisListPusher({ redis, key, flushIntervalMs: 5 });
      await Promise.all(Array.from({ length: 500 }, (_, i) => pusher.pushAndConfirm(`${key}:${i}`)));
      await pusher.close();
      expect(pusher.name()).toMatch(/^cluster\//);
      const seen = new Set<string>();
      const queue = new Queue<RedisMessage>(
        redisListProducerFactory({ redis, key, blockTimeoutMs: 50 }),
        () => ({ consume: (m) => void seen.add(m.body) }),
        { producers: 2, consumers: 2 },
      );
      const done = queue.start();
      const deadline = Date.now() + 20_000;
      while (seen.size < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await queue.stop();
      await done;
      expect(seen.size).toBe(500);
    }
    expect(hashTag('{a}:b')).toBe('a');
  }, 60_000);

  it("dedupe: 'outbox-id' on lists of different nodes: the default high-water hash shares each list's slot", async () => {
    const keys = [...(await keysOnDifferentNodes(3)).map((k) => `${k}-dedupe`), '{orders}:dedupe'];
    const batch = Array.from({ length: 100 }, (_, i) => ({
      body: `m${i}`,
      headers: { [OUTBOX_ID_HEADER]: `ob:${i}` },
    }));
    for (const key of keys) {
      const pusher = new RedisListPusher({ redis, key, dedupe: 'outbox-id' });
      await pusher.pushBatch(batch.slice(0, 60));
      await pusher.pushBatch(batch); // a replay of the first 60, then 40 new
      await pusher.close();
      expect(await redis.lrange(key, 0, -1)).toEqual(batch.map((m) => m.body));
      expect(await redis.hget(queueKeys(key).outboxHighWater, 'ob')).toBe('99');
      expect(pusher.stats()).toMatchObject({ written: 100, duplicatesSkipped: 60 });
    }
  }, 60_000);

  it('crash test on the cluster: 3 queues on different nodes, worker SIGKILLed 3 times, nothing lost', async () => {
    const keys = (await keysOnDifferentNodes(3)).map((k) => `${k}-crash`);
    const report = await crashRun(redis, { nodes: cluster.nodes, keys, leaseMs: 1000 }, 20_000, 3);
    console.log('cluster crash run:', report);
    expect(report.distinct).toBe(report.sent);
    expect(report.duplicates).toBeLessThanOrEqual(report.heldAtKills);
  }, 180_000);
});
