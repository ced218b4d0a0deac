import type { ProducerFactory } from '@q/core';
import { AtLeastOnceProducer } from './at-least-once-producer.js';
import { AtMostOnceProducer } from './at-most-once-producer.js';
import { type RedisListProducerOptions, type RedisMessage, resolveOptions } from './producer-options.js';
import { assertRedisVersion } from './version.js';

export type { DeliveryMode, RedisListProducerOptions, RedisMessage } from './producer-options.js';

/**
 * A `ProducerFactory` for {@link @q/core!Queue} that reads a Redis list. Each call makes a producer with its
 * own blocking connection; see {@link RedisListProducerOptions} for the two modes.
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
): ProducerFactory<Buffer>;
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode: 'at-most-once'; buffers?: false },
): ProducerFactory<string>;
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode?: 'at-least-once'; buffers: true },
): ProducerFactory<RedisMessage<Buffer>>;
export function redisListProducerFactory(
  options: RedisListProducerOptions & { mode?: 'at-least-once'; buffers?: false },
): ProducerFactory<RedisMessage<string>>;
export function redisListProducerFactory(
  options: RedisListProducerOptions,
): ProducerFactory<string | Buffer | RedisMessage<string | Buffer>>;
export function redisListProducerFactory(options: RedisListProducerOptions): ProducerFactory<unknown> {
  const o = resolveOptions(options);
  return async () => {
    await assertRedisVersion(o.redis, o.mode);
    return o.mode === 'at-most-once' ? new AtMostOnceProducer(o) : new AtLeastOnceProducer(o);
  };
}
