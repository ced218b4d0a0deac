import type { ClientMessage } from './client.js';

/** RabbitMQ's count of earlier deliveries that ended in a requeue (quorum queues only; absent on the first). */
export const X_DELIVERY_COUNT = 'x-delivery-count';

/**
 * Our count of earlier deliveries, for classic queues, which count nothing themselves: set by a
 * producer whose `onFailure` is `'republish'` on the copy it publishes back to the queue.
 */
export const DELIVERY_COUNT_HEADER = 'q-delivery-count';

/** The delivery facts of an {@link AmqpDelivery} (AMQP's `basic.deliver` fields). */
export interface AmqpDeliveryFields {
  /** The consumer channel's tag for this delivery; it means nothing on any other channel. */
  readonly deliveryTag: number;
  /** The broker delivered it before without an ack (to this or another consumer). */
  readonly redelivered: boolean;
  /** The exchange it was published to (`''` for the default exchange). */
  readonly exchange: string;
  /** The routing key it was published with. */
  readonly routingKey: string;
  /** The consumer it was delivered to. */
  readonly consumerTag: string;
}

/** The AMQP basic properties a publisher may have set (all optional, as in AMQP). */
export interface AmqpDeliveryProperties {
  /** The id the publisher gave it (`@q` pushers always set one): what consumers de-duplicate by. */
  readonly messageId?: string;
  /** Ties a reply to its request. */
  readonly correlationId?: string;
  /** Where a reply should go (a queue name). */
  readonly replyTo?: string;
  /** The body's MIME type. */
  readonly contentType?: string;
  /** The body's encoding (`gzip`, ...). */
  readonly contentEncoding?: string;
  /** 2 for persistent, 1 for transient. */
  readonly deliveryMode?: number;
  /** 0 to 255, on priority queues. */
  readonly priority?: number;
  /** The per-message TTL the publisher set, in milliseconds as a string (RabbitMQ applies it). */
  readonly expiration?: string;
  /** Seconds since the epoch. */
  readonly timestamp?: number;
  /** The application's message type name. */
  readonly type?: string;
  /** The user that published it (RabbitMQ checks it against the connection's user). */
  readonly userId?: string;
  /** The publishing application. */
  readonly appId?: string;
}

/**
 * A message taken from a RabbitMQ queue by {@link amqpProducerFactory}: what the Queue's handlers
 * receive. The Queue settles it through its producer (ack, nack or reject on the channel that
 * delivered it); handlers only read it.
 */
export interface AmqpDelivery {
  /** The body, as published. */
  readonly body: Buffer;
  /** The application headers (`{}` when there are none), including RabbitMQ's `x-death` on dead letters. */
  readonly headers: Readonly<Record<string, unknown>>;
  /** The basic properties other than the headers. */
  readonly properties: AmqpDeliveryProperties;
  /** The delivery facts. */
  readonly fields: AmqpDeliveryFields;
  /**
   * Which delivery of this message this is, 1 on the first. From RabbitMQ's `x-delivery-count` on
   * quorum queues (exact); elsewhere from the `q-delivery-count` header a `'republish'` failure
   * sets, plus one more when `redelivered` is set: a redelivery after a lost channel or a requeue
   * is counted once however often it happened, so on classic queues it is a lower bound.
   */
  readonly deliveries: number;
}

const PROPERTY_NAMES = [
  'messageId',
  'correlationId',
  'replyTo',
  'contentType',
  'contentEncoding',
  'deliveryMode',
  'priority',
  'expiration',
  'timestamp',
  'type',
  'userId',
  'appId',
] as const;

/** How many times a message was delivered, this delivery included (see {@link AmqpDelivery.deliveries}). */
export function deliveryCount(headers: Readonly<Record<string, unknown>>, redelivered: boolean): number {
  const broker = countOf(headers[X_DELIVERY_COUNT]);
  if (broker !== undefined) return broker + 1;
  return (countOf(headers[DELIVERY_COUNT_HEADER]) ?? 0) + (redelivered ? 2 : 1);
}

/** A header count as a non-negative integer; AMQP tables may carry it as a number, a bigint or a string. */
function countOf(value: unknown): number | undefined {
  const n =
    typeof value === 'number' ? value : typeof value === 'bigint' || typeof value === 'string' ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Reads a client message into the Queue's message type. */
export function toDelivery(message: ClientMessage, consumerTag: string): AmqpDelivery {
  const raw = message.properties as Readonly<Record<string, unknown>>;
  const headers = (raw.headers ?? {}) as Record<string, unknown>;
  const properties: Record<string, unknown> = {};
  // amqplib sets every property key, most of them to undefined: keep only those the publisher set.
  for (const name of PROPERTY_NAMES) if (raw[name] !== undefined && raw[name] !== null) properties[name] = raw[name];
  const f = message.fields;
  return {
    body: message.content,
    headers,
    properties: properties as AmqpDeliveryProperties,
    fields: {
      deliveryTag: f.deliveryTag,
      redelivered: f.redelivered,
      exchange: f.exchange,
      routingKey: f.routingKey,
      consumerTag: f.consumerTag ?? consumerTag,
    },
    deliveries: deliveryCount(headers, f.redelivered),
  };
}
