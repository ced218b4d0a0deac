import type { Logger, RetryOptions, ShutdownManager } from '@q/core';
import type { Compression, KafkaClientFactory, KafkaConnection, OutgoingMessage } from './client.js';

/** Options of `KafkaPusher`. */
export interface KafkaPusherOptions extends KafkaConnection {
  /** The topic to write to. */
  topic: string;
  /**
   * Bytes per `send`: messages go out together once this many are buffered. A message counts its
   * value, its key, its headers and about 20 bytes of framing, so small
   * messages do not pile up into sends of hundreds of thousands.
   * @default 1048576 (1 MiB, kq's chunk)
   */
  chunkBytes?: number;
  /**
   * Most messages per `send`, whatever their bytes. kafkajs encodes a whole send at once, blocking
   * the event loop (tens of microseconds per message on a loaded machine): a send of 170,000 tiny
   * messages stalled heartbeats for seconds and got a consumer in the same process dropped from its
   * group. 10,000 keeps one send's encoding well under a heartbeat interval.
   * @default 10000
   */
  maxBatchMessages?: number;
  /**
   * Longest wait of a message for its chunk, in milliseconds. kq waits up to 1 s; a queue's latency
   * matters more than the last percent of batching.
   * @default 100
   */
  flushIntervalMs?: number;
  /**
   * Broker acknowledgements, what a confirm means: -1 = every in-sync replica has the record, and
   * the partition had at least the topic's `min.insync.replicas` of them (else the write fails with
   * NOT_ENOUGH_REPLICAS); 1 = the leader alone wrote it (lost if the leader fails before a follower
   * copied it); 0 = nothing: the broker does not answer, so a push "confirms" once the request left.
   * kq's writer defaults to none, and loses messages silently when a broker fails. Other than -1,
   * the pusher warns once when it connects.
   * @default -1
   */
  acks?: -1 | 0 | 1;
  /**
   * Idempotent producer: retries never write a message twice.
   * @default false
   */
  idempotent?: boolean;
  /**
   * Whether a push to a topic that does not exist may create it (when the broker has
   * `auto.create.topics.enable`). Off, such a push is refused with `UnroutableError` of `@q/core`
   * (`destination` the topic, `reason` the broker's error name, `UNKNOWN_TOPIC_OR_PARTITION`), at
   * once rather than after kafkajs's minute of retries, and nothing is created: AMQP's mandatory
   * flag. A typo in a topic name then fails the first push instead of filling a new topic.
   * @default false
   */
  allowAutoTopicCreation?: boolean;
  /**
   * Time to live of every message, in milliseconds (an integer from 0 to 2^31-1): each is stamped
   * with the `q-expires-at` header of `@q/core` (push time + `ttlMs`; a message that already carries
   * an earlier one keeps it). A `KafkaQueue` checks it when it receives the record and never hands
   * an expired one to its handler: it dead-letters it with reason `expired`, or skips it without a
   * dead letter (RabbitMQ's per-message TTL, checked lazily). Kafka itself never drops it: the
   * topic's `retention.ms` still decides how long the record is kept.
   * @default none (messages do not expire)
   */
  ttlMs?: number;
  /**
   * Not supported: Kafka topics have no message-count limit. Given, the constructor throws
   * `UnsupportedFeatureError` of `@q/core`; bound a topic with `retention.bytes` / `retention.ms`.
   * @default none
   */
  maxLength?: never;
  /**
   * Not supported, as {@link KafkaPusherOptions.maxLength} (RabbitMQ's `x-overflow`): throws
   * `UnsupportedFeatureError`.
   * @default none
   */
  overflow?: never;
  /** @default "none" */
  compression?: Compression;
  /**
   * Every push resolves once the broker acknowledged its chunk and rejects if the write failed
   * (kq's `WithSyncPush`, but still batched). Otherwise push resolves once accepted and failures go
   * to `onError`.
   * @default false
   */
  syncPush?: boolean;
  /**
   * Largest value accepted, in bytes (the broker's `message.max.bytes`).
   * @default 1048576
   */
  maxMessageBytes?: number;
  /**
   * Connecting again after a failed connect: each write that finds the producer unconnected tries up
   * to `attempts` connects (the client's own retries inside each), with exponential back-off and
   * jitter between `minDelayMs` and `maxDelayMs`; then its messages fail (rejected pushes, `onError`)
   * and the next write starts over. `close()` cuts the back-off short.
   * @default { attempts: 3, minDelayMs: 100, maxDelayMs: 5000, factor: 2, jitter: true }
   */
  reconnect?: RetryOptions;
  /** Told about every failed write with its messages. @default logs through `logger` */
  onError?: (error: unknown, messages: OutgoingMessage[]) => void;
  /** Returns the W3C `traceparent` to write into each message's headers, if any. */
  traceparent?: () => string | undefined;
  /**
   * Returns headers to write into each message, read when the message is pushed (in the caller's
   * context): trace context such as W3C `traceparent` and `tracestate`, which `traceHeaders()` of
   * `@q/otel` injects from the active span. They override a message's own headers of the same name.
   * @default none
   */
  traceHeaders?: () => Readonly<Record<string, string>> | undefined;
  /** Flushes on SIGTERM/SIGINT through this manager; `close()` unregisters. */
  shutdown?: ShutdownManager;
  /** @default kafkajs */
  client?: KafkaClientFactory;
  /** @default consoleLogger */
  logger?: Logger;
}
