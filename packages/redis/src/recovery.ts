import type { Cluster, Redis } from 'ioredis';
import { consumerKeys, type QueueKeys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * Hands the in-flight and staged messages of `consumer` back to the retry list and forgets the
 * consumer, if its lease expired; with `force`, at once (a consumer releasing its own on close).
 * Safe to run anywhere, any time: a live lease makes it a no-op (see `lua/recover-6.lua`).
 *
 * @returns how many messages went back, or -1 when the lease is still alive.
 */
export function recover(redis: ScriptedRedis, keys: QueueKeys, consumer: string, force: boolean): Promise<number> {
  const own = consumerKeys(keys, consumer);
  return redis.qRecover(
    own.lease,
    own.inflight,
    own.staging,
    keys.retry,
    keys.consumers,
    own.claim,
    consumer,
    force ? 'force' : '',
  );
}

/**
 * Returns the messages of every consumer of the queue, other than `self`, whose lease expired. One
 * script per consumer, so a large consumer set never blocks Redis for long.
 */
export async function recoverExpired(
  redis: (Redis | Cluster) & ScriptedRedis,
  keys: QueueKeys,
  self: string,
): Promise<void> {
  const consumers = await redis.smembers(keys.consumers);
  for (const consumer of consumers) {
    if (consumer !== self) await recover(redis, keys, consumer, false);
  }
}
