import type { ProducerFactory } from '@q/core';
import { AtLeastOnceProducer } from './at-least-once-producer.js';
import { AtMostOnceProducer } from './at-most-once-producer.js';
import {
  type RedisListProducerOptions,
  type RedisListProducerStats,
  type RedisMessage,
  resolveOptions,
} from './producer-options.js';
import { assertRedisVersion } from './version.js';

export type {
  DeliveryMode,
  RedisListProducerOptions,
  RedisListProducerStats,
  RedisMessage,
} from './producer-options.js';

/** What {@link redisListProducerFactory} returns: a `ProducerFactory` whose producers' counts can be read. */
export type RedisListProducerFactory<T> = ProducerFactory<T> & {
  /** What this factory's producers did besides handing out messages (expired, dead-lettered): a snapshot. */
  stats(): RedisListProducerStats;
};

/**
 * A `ProducerFactory` for {@link @q/core!Queue} that reads a Redis list. Each call makes a producer with its
 * own blocking connection; see {@link RedisListProducerOptions} for the two modes. Each producer
 * registers itself in the list's readers set while it runs (what a `mandatory` pusher checks); its
 * factory call fails when Redis does not take that registration.
 *
 * ```ts
 * const queue = new Queue(
 *   redisListProducerFactory({ redis, key: 'jobs', mode: 'at-least-once' }),
 *   () => ({ consume: async (m) => handle(m.body) }),
 * );
 * ```
 *
 * @throws {InvalidOptionError} synchronously for bad options. A server too old for the mode is
 *   reported by each factory call as {@link RedisVersionError}.
 */
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode: 'at-most-once'; buffers: true },
): RedisListProducerFactory<Buffer>;
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode: 'at-most-once'; buffers?: false },
): RedisListProducerFactory<string>;
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode?: 'at-least-once'; buffers: true },
): RedisListProducerFactory<RedisMessage<Buffer>>;
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode?: 'at-least-once'; buffers?: false },
): RedisListProducerFactory<RedisMessage<string>>;
export function redisListProducerFactory(
  options: RedisListProducerOptions,
): RedisListProducerFactory<string | Buffer | RedisMessage<string | Buffer>>;
export function redisListProducerFactory(options: RedisListProducerOptions): RedisListProducerFactory<unknown> {
  const o = resolveOptions(options);
  const factory = async (): Promise<AtMostOnceProducer | AtLeastOnceProducer> => {
    await assertRedisVersion(o.redis, o.mode);
    const producer = o.mode === 'at-most-once' ? new AtMostOnceProducer(o) : new AtLeastOnceProducer(o);
    try {
      await producer.register();
    } catch (error) {
      await producer.close().catch(() => {});
      throw error;
    }
    return producer;
  };
  const { counters } = o;
  return Object.assign(factory, {
    stats: (): RedisListProducerStats => ({
      expired: counters.expired,
      dropped: counters.dropped,
      deadLettered: counters.deadLettered,
    }),
  }) as RedisListProducerFactory<unknown>;
}
