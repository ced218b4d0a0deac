import {
  type ConsumeContext,
  consoleLogger,
  InvalidOptionError,
  type Logger,
  type Pusher,
  type RetryOptions,
  retryPolicy,
} from '@q/core';
import { duration, integerAtLeast, nonEmptyString, safeLogger } from '@q/core/internal';
import type { KafkaClientFactory, KafkaConnection, KafkaMessage } from './client.js';
import { deadLetterPusher } from './dead-letter.js';
import { kafkajsClient } from './kafkajs-client.js';

/** How messages of one partition may run at once. */
export type Ordering = 'partition' | 'key' | 'unordered';

/** The handler: a function, or an object with `consume` (kq's `ConsumeHandler`). */
export type KafkaHandler =
  | ((message: KafkaMessage, context: ConsumeContext) => void | Promise<void>)
  | {
      /** Handles one message; a throw or a rejection is a failed attempt (retried, then dead-lettered). */
      consume(message: KafkaMessage, context: ConsumeContext): void | Promise<void>;
    };

/** kq's `KqConf` and options, with the same names and defaults where they exist. */
export interface KafkaQueueConfig extends KafkaConnection {
  /** The consumer group. */
  group: string;
  /** One topic (kq), or use `topics`. */
  topic?: string;
  /** Several topics, instead of `topic`. */
  topics?: string[];
  /**
   * Where a partition without a committed offset starts.
   * @default "last"
   */
  offset?: 'first' | 'last';
  /**
   * Independent group members (each a client and a pipeline) in this process; an integer >= 1.
   * @default 1
   */
  conns?: number;
  /**
   * Partitions fetched and handed over concurrently per member (kq's fetch goroutines).
   * @default 8
   */
  consumers?: number;
  /**
   * Handler calls running at once per member (kq's processors).
   * @default 8
   */
  processors?: number;
  /** @default 10240 */
  minBytes?: number;
  /** @default 10485760 */
  maxBytes?: number;
  /** @default 1000 */
  maxWaitMs?: number;
  /**
   * Commits are sent at most this often (and at stop and before a rebalance).
   * @default 1000
   */
  commitIntervalMs?: number;
  /**
   * kq's meaning: commit a message whose handler failed for good (after retries and dead letter).
   * With false, its partition's commit point stops there, so it is read again after a restart.
   * @default true
   */
  forceCommit?: boolean;
  /**
   * Commits carry an offset map: the offsets settled above the commit point, compactly encoded in
   * the commit's metadata (within the broker's default 4 KiB), so that after a restart or rebalance
   * they are skipped instead of handled again (Confluent Parallel Consumer's offset map).
   * @default true
   */
  offsetMap?: boolean;
  /**
   * `partition`: one message at a time per partition, in order (kq with one processor, but
   * partitions in parallel). `key`: one at a time per key, keys of a partition in parallel
   * (Confluent Parallel Consumer's KEY mode). `unordered`: everything in parallel.
   * @default "partition"
   */
  ordering?: Ordering;
  /**
   * Back-pressure: above this many messages fetched and not settled, the partitions delivering more
   * are paused; they resume below `lowWaterMark`. The default holds about two fetch responses of
   * small messages at the default `maxBytes`, so the next fetch runs while the last one is handled;
   * much lower values pause after every fetch and leave the handlers idle while the next one comes.
   * @default 100000
   */
  highWaterMark?: number;
  /**
   * Paused partitions resume once the messages fetched and not settled are down to this many; an
   * integer from 0 to `highWaterMark`.
   * @default half of highWaterMark
   */
  lowWaterMark?: number;
  /** Per-attempt handler timeout in milliseconds (0: none). @default 0 */
  timeoutMs?: number;
  /**
   * `'outbox-id'`: drops the replays of `@q/outbox` messages before the handler. Per partition and
   * per outbox (header `q-outbox-id`, `<outbox>:<seq>`), a message whose sequence is at or below the
   * highest seen so far is not handed to the handler: it is settled as consumed (committed in order
   * like any handled message, so it never holds commits back) and counted in
   * `KafkaQueue.duplicatesDropped()`. Messages without the header (or with one that is not an outbox
   * id) pass through.
   *
   * The highest sequences are kept per partition assignment, in memory: exact while one consumer
   * owns the partition. After a rebalance or a restart the new owner starts from the last commit
   * with nothing seen, so a replay of a message before that commit can reach the handler again.
   * It also needs each message in the same partition on every replay (messages with a key, or a
   * fixed partition), and sinks that write a batch whole (`KafkaPusher.pushBatch`). See the guide's
   * "De-duplicating an outbox's replays".
   * @default none (every message is handed to the handler)
   */
  dedupe?: 'outbox-id';
  /** Retries of failed handler calls. @default none (kq) */
  retry?: RetryOptions;
  /**
   * Back-off between failed dead-letter pushes of one message: the push is retried until the
   * dead-letter destination confirms it (the partition's commit waits meanwhile) or `stop()`'s
   * deadline hands the message back uncommitted. The core Queue's option of the same name.
   * @default { minDelayMs: 100, maxDelayMs: 5000 }
   */
  deadLetterBackoff?: {
    /** First delay, in milliseconds. @default 100 */
    minDelayMs?: number;
    /** Longest delay, in milliseconds. @default 5000 */
    maxDelayMs?: number;
  };
  /**
   * Dead-letter target for messages that failed every attempt: a topic, or any Pusher. For a topic the
   * queue makes a {@link KafkaPusher} and closes it in `stop()`; a Pusher passed in stays open (it
   * may be shared): close it yourself after `stop()` resolved.
   * @default none
   */
  deadLetter?: string | Pusher<KafkaMessage>;
  /** @default 10000 */
  sessionTimeoutMs?: number;
  /** How long a rebalance waits for members to rejoin. @default 30000 */
  rebalanceTimeoutMs?: number;
  /** @default 1000 */
  heartbeatIntervalMs?: number;
  /**
   * The deadline of a `stop()` called without `timeoutMs`, and of the stop `signal` starts, in
   * milliseconds: handlers get this long to drain (see `KafkaQueue.stop`).
   * @default 30000 (the Queue's `stopTimeoutMs`)
   */
  stopTimeoutMs?: number;
  /**
   * Stops the queue when aborted, as `stop()` does (drain within `stopTimeoutMs`, commit what
   * settled, leave the group); the promise of `start()` resolves once that is done. Already aborted
   * when `start()` is called: `start()` resolves at once, connects nothing, and the queue is stopped
   * (the dead-letter pusher it made for `deadLetter: '<topic>'` is closed). Its listener is removed
   * once the queue stops.
   * @default none
   */
  signal?: AbortSignal;
  /** @default kafkajs */
  client?: KafkaClientFactory;
  /** @default consoleLogger */
  logger?: Logger;
}

/** {@link KafkaQueueConfig} validated, with every default filled in. */
export interface ResolvedKafkaQueueConfig {
  readonly connection: KafkaConnection;
  readonly group: string;
  readonly topics: string[];
  readonly fromBeginning: boolean;
  readonly conns: number;
  readonly consumers: number;
  readonly processors: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly maxWaitMs: number;
  readonly commitIntervalMs: number;
  readonly forceCommit: boolean;
  readonly offsetMap: boolean;
  readonly ordering: Ordering;
  readonly highWaterMark: number;
  readonly lowWaterMark: number;
  readonly timeoutMs: number;
  readonly dedupe: 'outbox-id' | undefined;
  readonly retry: RetryOptions | undefined;
  readonly deadLetterBackoff: { minDelayMs?: number; maxDelayMs?: number } | undefined;
  readonly deadLetter: Pusher<KafkaMessage> | undefined;
  /** Whether {@link deadLetter} was made here (from a topic name), so the queue closes it. */
  readonly ownsDeadLetter: boolean;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly stopTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly client: KafkaClientFactory;
  readonly logger: Logger;
}

const ORDERINGS: readonly Ordering[] = ['partition', 'key', 'unordered'];

function boolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'a boolean');
  return value;
}

/**
 * Validates a {@link KafkaQueueConfig} and fills in its defaults.
 * @throws {InvalidOptionError} naming the option and the allowed values.
 */
export function resolveKafkaQueueConfig(config: KafkaQueueConfig): ResolvedKafkaQueueConfig {
  if (config === null || typeof config !== 'object') throw new InvalidOptionError('config', config, 'an object');
  if (!Array.isArray(config.brokers) || config.brokers.length === 0) {
    throw new InvalidOptionError('brokers', config.brokers, 'a non-empty array of "host:port"');
  }
  nonEmptyString('group', config.group);
  const topics = config.topics ?? (config.topic === undefined ? [] : [config.topic]);
  if (topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '')) {
    throw new InvalidOptionError(
      'topic',
      config.topic ?? config.topics,
      'a topic name (topic) or a non-empty list (topics)',
    );
  }
  const ordering = config.ordering ?? 'partition';
  if (!ORDERINGS.includes(ordering))
    throw new InvalidOptionError('ordering', ordering, '"partition", "key" or "unordered"');
  const offset = config.offset ?? 'last';
  if (offset !== 'first' && offset !== 'last') throw new InvalidOptionError('offset', offset, '"first" or "last"');
  const highWaterMark = integerAtLeast('highWaterMark', config.highWaterMark ?? 100_000, 1);
  if (config.dedupe !== undefined && config.dedupe !== 'outbox-id')
    throw new InvalidOptionError('dedupe', config.dedupe, '"outbox-id" or undefined (none)');
  if (config.signal !== undefined && !(config.signal instanceof AbortSignal))
    throw new InvalidOptionError('signal', config.signal, 'an AbortSignal');
  return {
    connection: {
      brokers: config.brokers,
      clientId: config.clientId,
      ssl: config.ssl,
      sasl: config.sasl,
      requestTimeoutMs: config.requestTimeoutMs,
      retries: config.retries,
    },
    group: config.group,
    topics,
    fromBeginning: offset === 'first',
    conns: integerAtLeast('conns', config.conns ?? 1, 1),
    consumers: integerAtLeast('consumers', config.consumers ?? 8, 1),
    processors: integerAtLeast('processors', config.processors ?? 8, 1),
    minBytes: integerAtLeast('minBytes', config.minBytes ?? 10_240, 1),
    maxBytes: integerAtLeast('maxBytes', config.maxBytes ?? 10_485_760, 1),
    maxWaitMs: integerAtLeast('maxWaitMs', config.maxWaitMs ?? 1000, 0),
    commitIntervalMs: integerAtLeast('commitIntervalMs', config.commitIntervalMs ?? 1000, 1),
    forceCommit: boolean('forceCommit', config.forceCommit ?? true),
    offsetMap: boolean('offsetMap', config.offsetMap ?? true),
    ordering,
    highWaterMark,
    // Above the high mark, a paused partition would resume while the buffer is still over it.
    lowWaterMark: integerAtLeast(
      'lowWaterMark',
      config.lowWaterMark ?? Math.floor(highWaterMark / 2),
      0,
      highWaterMark,
    ),
    timeoutMs: config.timeoutMs ?? 0,
    dedupe: config.dedupe,
    retry: config.retry,
    // Checked here so a bad value throws at construction, not when a member starts its queue.
    deadLetterBackoff:
      config.deadLetterBackoff === undefined
        ? undefined
        : retryPolicy(config.deadLetterBackoff, 'deadLetterBackoff', { minDelayMs: 100, maxDelayMs: 5000 }),
    deadLetter: typeof config.deadLetter === 'string' ? deadLetterPusher(config, config.deadLetter) : config.deadLetter,
    ownsDeadLetter: typeof config.deadLetter === 'string',
    sessionTimeoutMs: integerAtLeast('sessionTimeoutMs', config.sessionTimeoutMs ?? 10_000, 1),
    rebalanceTimeoutMs: integerAtLeast('rebalanceTimeoutMs', config.rebalanceTimeoutMs ?? 30_000, 1),
    heartbeatIntervalMs: integerAtLeast('heartbeatIntervalMs', config.heartbeatIntervalMs ?? 1000, 1),
    stopTimeoutMs: duration('stopTimeoutMs', config.stopTimeoutMs ?? 30_000),
    signal: config.signal,
    client: config.client ?? kafkajsClient,
    logger: safeLogger(config.logger ?? consoleLogger),
  };
}
