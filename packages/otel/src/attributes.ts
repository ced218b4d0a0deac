/**
 * Attribute names of the OpenTelemetry messaging semantic conventions (v1.27 and later), written out
 * here so that `@q/otel` needs nothing but `@opentelemetry/api`.
 */
export const ATTR = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destinationName: 'messaging.destination.name',
  partitionId: 'messaging.destination.partition.id',
  consumerGroup: 'messaging.consumer.group.name',
  messageId: 'messaging.message.id',
  bodySize: 'messaging.message.body.size',
  batchCount: 'messaging.batch.message_count',
  kafkaKey: 'messaging.kafka.message.key',
  kafkaOffset: 'messaging.kafka.offset',
  kafkaTombstone: 'messaging.kafka.message.tombstone',
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
