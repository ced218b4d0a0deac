export { ENVELOPE_MAGIC, type Envelope, isEnveloped, unwrapEnvelope, wrapEnvelope } from './envelope.js';
export { InvalidMessageError, InvalidOutboxIdError, RedisVersionError } from './errors.js';
export { hashTag, type QueueKeys, queueKeys } from './keys.js';
export type { PushableMessage } from './list-writer.js';
export type {
  DeliveryMode,
  RedisListProducerOptions,
  RedisListProducerStats,
  RedisMessage,
} from './producer-options.js';
export { type RedisListProducerFactory, redisListProducerFactory } from './redis-list-producer.js';
export { RedisListPusher } from './redis-list-pusher.js';
export type { RedisListPusherOptions, RedisListPusherStats } from './redis-list-pusher-options.js';
export { assertRedisVersion, REQUIRED_VERSION, serverVersion } from './version.js';
