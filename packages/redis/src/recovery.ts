import type { Cluster, Redis } from 'ioredis';
import { consumerKeys, type QueueKeys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * Hands the in-flight and staged messages of `consumer` back to the retry list, if its lease expired;
 * with `force`, at once (a consumer releasing its own on close), forgetting it. A consumer recovered
 * without `force` stays registered for `graceMs` more (later passes return anything a late `BLMOVE`
 * of its moved into its staging list), then is forgotten. Safe to run anywhere, any time: a live
 * lease makes it a no-op (see `lua/recover-6.lua`).
 *
 * @returns how many messages went back, or -1 when the lease is still alive.
 */
export function recover(
  redis: ScriptedRedis,
  keys: QueueKeys,
  consumer: string,
  force: boolean,
  graceMs = 0,
): Promise<number> {
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
    graceMs,
  );
}

/**
 * Returns the messages of every consumer of the queue, other than `self`, whose lease expired; each
 * stays registered `graceMs` after its first recovery. One script per consumer, so a large consumer
 * set never blocks Redis for long.
 */
export async function recoverExpired(
  redis: (Redis | Cluster) & ScriptedRedis,
  keys: QueueKeys,
  self: string,
  graceMs: number,
): Promise<void> {
  const consumers = await redis.smembers(keys.consumers);
  for (const consumer of consumers) {
    if (consumer !== self) await recover(redis, keys, consumer, false, graceMs);
  }
}
