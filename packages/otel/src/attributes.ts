/**
 * Attribute names of the OpenTelemetry messaging semantic conventions (v1.27 and later), written out
 * here so that `@q/otel` needs nothing but `@opentelemetry/api`.
 */
export const ATTR = {
  /** `messaging.system`: `kafka`, `redis`, or what the caller names. */
  system: 'messaging.system',
  /** `messaging.operation.type`: `send`, `process`. */
  operationType: 'messaging.operation.type',
  /** `messaging.operation.name`: the operation as the system calls it. */
  operationName: 'messaging.operation.name',
  /** `messaging.destination.name`: the topic or list key. */
  destinationName: 'messaging.destination.name',
  /** `messaging.destination.partition.id`: the Kafka partition, as a string. */
  partitionId: 'messaging.destination.partition.id',
  /** `messaging.consumer.group.name`: the Kafka consumer group. */
  consumerGroup: 'messaging.consumer.group.name',
  /** `messaging.message.id`: the message id where the system has one. */
  messageId: 'messaging.message.id',
  /** `messaging.message.body.size`: the body in bytes. */
  bodySize: 'messaging.message.body.size',
  /** `messaging.batch.message_count`: how many messages a batch call held. */
  batchCount: 'messaging.batch.message_count',
  /** `messaging.kafka.message.key`: the record key as text. */
  kafkaKey: 'messaging.kafka.message.key',
  /** `messaging.kafka.offset`: the record offset. */
  kafkaOffset: 'messaging.kafka.offset',
  /** `messaging.kafka.message.tombstone`: true for a record with a null value. */
  kafkaTombstone: 'messaging.kafka.message.tombstone',
  /** `error.type`: the class of what the handler threw. */
  errorType: 'error.type',
  /** Not a convention: which handler call this is for the message (1 on the first try). */
  attempt: 'q.attempt',
  /** Not a convention: how often Redis delivered the message (at-least-once mode). */
  redisDeliveries: 'q.redis.deliveries',
} as const;

/** A low-cardinality name for what a handler threw: its class, or `_OTHER` for a non-Error. */
export function errorType(error: unknown): string {
  if (error instanceof Error) return error.constructor?.name || error.name || 'Error';
  return '_OTHER';
}
