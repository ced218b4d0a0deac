import type { Attributes, TextMapPropagator, Tracer } from '@opentelemetry/api';
import { ATTR } from './attributes.js';
import type { ConsumerTracingOptions } from './consumer-options.js';
import type { ProducerTracingOptions } from './traced-pusher.js';

/** What the Kafka presets read of a record: `KafkaMessage` of `@q/kafka` fits (no import needed). */
export interface KafkaRecordLike {
  /** The topic the record was read from. */
  readonly topic: string;
  /** Its partition. */
  readonly partition: number;
  /** Its offset, as kafkajs gives it (a decimal string). */
  readonly offset: string;
  /** Its key, if any. */
  readonly key: Buffer | null;
  /** Its value; null for a tombstone. */
  readonly value: Buffer | null;
  /** Its headers, where the producer put the trace context. */
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>;
}

/** Options of {@link kafkaConsumerTracing}. */
export interface KafkaConsumerTracingOptions
  extends Pick<ConsumerTracingOptions<KafkaRecordLike>, 'childOfProducer' | 'maxLinks' | 'tracer' | 'propagator'> {
  /** `messaging.consumer.group.name`. @default none */
  group?: string;
}

/**
 * {@link ConsumerTracingOptions} for `KafkaQueue` handlers: `messaging.system` `kafka`, the record's
 * topic as destination, its headers as the carrier, and `messaging.destination.partition.id`,
 * `messaging.kafka.offset`, `messaging.kafka.message.key` (UTF-8), `messaging.kafka.message.tombstone`,
 * `messaging.message.body.size` and the group.
 */
export function kafkaConsumerTracing(
  options: KafkaConsumerTracingOptions = {},
): ConsumerTracingOptions<KafkaRecordLike> {
  const { group, ...rest } = options;
  return {
    ...rest,
    system: 'kafka',
    destination: (m) => m.topic,
    headersOf: (m) => m.headers,
    attributes: (m) => {
      const attributes: Attributes = {
        [ATTR.partitionId]: String(m.partition),
        [ATTR.kafkaOffset]: Number(m.offset),
      };
      if (m.key !== null) attributes[ATTR.kafkaKey] = m.key.toString('utf8');
      if (m.value === null) attributes[ATTR.kafkaTombstone] = true;
      else attributes[ATTR.bodySize] = m.value.byteLength;
      if (group !== undefined) attributes[ATTR.consumerGroup] = group;
      return attributes;
    },
  };
}

/**
 * {@link ProducerTracingOptions} for a `KafkaPusher` of `topic`. The pusher writes the headers itself:
 * give it `traceHeaders: traceHeaders()`.
 */
export function kafkaProducerTracing<M = unknown>(
  topic: string,
  options: { tracer?: Tracer; propagator?: TextMapPropagator } = {},
): ProducerTracingOptions<M> {
  return { ...options, system: 'kafka', destination: topic };
}
