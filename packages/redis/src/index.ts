export { ENVELOPE_MAGIC, type Envelope, isEnveloped, unwrapEnvelope, wrapEnvelope } from './envelope.js';
export { InvalidMessageError, RedisVersionError } from './errors.js';
export { hashTag, type QueueKeys, queueKeys } from './keys.js';
export type { DeliveryMode, RedisListProducerOptions, RedisMessage } from './producer-options.js';
export { redisListProducerFactory } from './redis-list-producer.js';
export { type PushableMessage, RedisListPusher, type RedisListPusherOptions } from './redis-list-pusher.js';
export { assertRedisVersion, REQUIRED_VERSION, serverVersion } from './version.js';
