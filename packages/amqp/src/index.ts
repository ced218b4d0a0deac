/**
 * `@q/amqp`: RabbitMQ for `@q/core`.
 * @packageDocumentation
 */
export { amqplibClient } from './amqplib-client.js';
export type {
  AmqpClient,
  ClientChannel,
  ClientConfirmChannel,
  ClientConnection,
  ClientConfirmFields,
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
export { AmqpConnectionClosedError, HeartbeatTimeoutError } from './errors.js';
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
