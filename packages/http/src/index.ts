/**
 * `@q/http`: push delivery from a durable `@q/log` cursor (or any `Queue` source, such as a
 * `KafkaQueue`) to URLs, with per-endpoint concurrency, retries with back-off and `Retry-After`, dead
 * letters, a circuit breaker per endpoint, Standard Webhooks signatures and replay of any range.
 * @packageDocumentation
 */

export type { HttpDelivererOptions } from './deliverer/deliverer-options.js';
export { HttpDeliverer, type HttpDelivererStats } from './deliverer/http-deliverer.js';
export { type HttpConsumerOptions, httpConsumerFactory } from './deliverer/queue-consumer.js';
export { type RecordItemOptions, recordToItem } from './deliverer/record-item.js';
export type { ReplayOptions, ReplayResult } from './deliverer/replay.js';
export { type DeadLetter, DeadLetters, type DeadLettersOptions } from './delivery/dead-letters.js';
export { DeliveryEngine } from './delivery/delivery-engine.js';
export type { DeliveryEngineOptions, DeliveryRetryOptions } from './delivery/delivery-options.js';
export type { EngineStats } from './delivery/engine-counts.js';
export type { DeliveryEngineEvents, RetryInfo } from './delivery/engine-events.js';
export {
  DeadLettersClosedError,
  DeliveryClosedError,
  InvalidItemError,
  ParkLogStoppedError,
  type ReplayRange,
  ReplayRangeError,
} from './delivery/errors.js';
export { signWebhook } from './delivery/signing.js';
export type { DeadLetterReason, DeliveryItem, DeliveryResult, EndpointState } from './delivery/types.js';
export { createHttpServer, type HttpQueueAddresses, HttpQueueServer } from './server/http-queue-server.js';
export type { HttpQueueServerOptions, TopicDeliveryOptions } from './server/options.js';
export { ServerDirLockedError } from './server/server-lock.js';
