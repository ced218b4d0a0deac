/**
 * `@q/amqp`: RabbitMQ for `@q/core`.
 * @packageDocumentation
 */

export {
  type AmqpDelivery,
  type AmqpDeliveryFields,
  type AmqpDeliveryProperties,
  DELIVERY_COUNT_HEADER,
  deliveryCount,
  X_DELIVERY_COUNT,
} from './amqp-delivery.js';
export { AmqpProducer, type AmqpProducerStats, amqpProducerFactory } from './amqp-producer.js';
export type { AmqpProducerOptions, FailureAction } from './amqp-producer-options.js';
export { AmqpPusher, type AmqpPusherStats } from './amqp-pusher.js';
export { amqplibClient } from './amqplib-client.js';
export type {
  AmqpClient,
  ClientChannel,
  ClientConfirmChannel,
  ClientConfirmFields,
  ClientConnection,
  ClientConnectOptions,
  ClientExchangeOptions,
  ClientMessage,
  ClientMessageFields,
  ClientMessageProperties,
  ClientPublishOptions,
  ClientQueueInfo,
  ClientQueueOptions,
} from './client.js';
export { AmqpConnection, type AmqpConnectionOptions } from './connection.js';
export {
  AmqpConnectionClosedError,
  HeartbeatTimeoutError,
  PublishTimeoutError,
  PusherClosedError,
} from './errors.js';
export type { AmqpPusherMessage, AmqpPushMessage, AmqpPushProperties } from './pusher-message.js';
export type { AmqpPusherOptions } from './pusher-options.js';
export {
  type BindingSpec,
  bindQueue,
  declareExchange,
  declareQueue,
  type ExchangeSpec,
  type ExchangeType,
  type Overflow,
  type QueueSpec,
  type QueueType,
  queueOptions,
  Topology,
  type TopologySpec,
} from './topology.js';
