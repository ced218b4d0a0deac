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
