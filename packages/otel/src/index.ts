/**
 * `@q/otel`: OpenTelemetry tracing for `@q` queues through `@opentelemetry/api` (a peer dependency).
 * A CONSUMER span per handler attempt, a PRODUCER span per send, linked through W3C trace context on
 * Kafka headers or a Redis envelope. Without an SDK every wrapper is a no-op.
 * @packageDocumentation
 */
export { ATTR, errorType } from './attributes.js';
export type { ConsumerTracingOptions } from './consumer-options.js';
export { type HeaderCarrier, headerGetter, injectHeaders, traceHeaders } from './headers.js';
export {
  type KafkaConsumerTracingOptions,
  type KafkaRecordLike,
  kafkaConsumerTracing,
  kafkaProducerTracing,
} from './kafka.js';
export {
  type RedisConsumerTracingOptions,
  type RedisMessageLike,
  redisConsumerTracing,
  redisProducerTracing,
  type Unwrap,
  type Wrap,
} from './redis.js';
export { type Handler, tracedConsumer, tracedHandler } from './traced-consumer.js';
export { type ProducerTracingOptions, type TracedSend, tracedPusher, traceSend } from './traced-pusher.js';
export { TRACER_NAME, VERSION } from './version.js';
