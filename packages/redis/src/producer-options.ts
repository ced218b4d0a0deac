import { consoleLogger, InvalidOptionError, type Logger } from '@q/core';
import { integerAtLeast, nonEmptyString, safeLogger } from '@q/core/internal';
import type { Cluster, Redis } from 'ioredis';
import { type QueueKeys, queueKeys } from './keys.js';

/** How messages leave the list. */
export type DeliveryMode = 'at-most-once' | 'at-least-once';

/** A message of an at-least-once producer: its body and how often it was delivered. */
export interface RedisMessage<B extends string | Buffer = string> {
  /** The message as it was pushed to the list. */
  readonly body: B;
  /**
   * This delivery's id: unique within the queue and never handed out again (settlement uses it, so
   * a late settle can only touch the delivery it names).
   */
  readonly id: number;
  /** 1 on the first delivery; more after a crash or a hand-back. */
  readonly deliveries: number;
}

/** Options of {@link redisListProducerFactory}. */
export interface RedisListProducerOptions {
  /** The client (`new Redis(...)` or `new Cluster(...)`); each producer also opens one duplicate for blocking reads. */
  redis: Redis | Cluster;
  /** The list. Pushers `RPUSH` to it; producers take from its head. */
  key: string;
  /**
   * `at-most-once` is go-zero rq's semantics: messages leave Redis when popped, so a crash loses
   * what the process held. `at-least-once` keeps each message in the consumer's in-flight record
   * until the queue settles it; a consumer that dies is detected by its lease and its messages go
   * back to the list.
   * @default "at-least-once"
   */
  mode?: DeliveryMode;
  /**
   * Most messages taken per call (`LPOP key n`, or the claim script).
   * @default 256
   */
  batchSize?: number;
  /**
   * How long one blocking wait on an empty list lasts (`BLMPOP`/`BLMOVE`), in milliseconds. Close
   * ends such a wait at once (`CLIENT UNBLOCK`; on a Cluster it waits for it, at most this long).
   * At-least-once: must be below `leaseMs / 3`, so a wait sent by a consumer that then froze ends on
   * the server well before its lease runs out and its messages are recovered.
   * @default 1000
   */
  blockTimeoutMs?: number;
  /**
   * Return Buffers instead of strings.
   * @default false
   */
  buffers?: boolean;
  /**
   * At-least-once: how long a consumer's lease lives without a heartbeat, in milliseconds. Its
   * messages go back to the list this long after it dies.
   * @default 30000
   */
  leaseMs?: number;
  /**
   * At-least-once: a message about to be delivered more often than this goes to the dead-letter list
   * (`<tag>:q:dead`) instead. 0 means no limit.
   * @default 5
   */
  maxDeliveries?: number;
  /**
   * At-least-once: acknowledgements and hand-backs are sent in batches of up to this many, at least
   * every `settleIntervalMs`.
   * @default 512
   */
  settleBatch?: number;
  /**
   * At-least-once: the longest an acknowledgement or hand-back waits for its batch, in milliseconds.
   * @default 10
   */
  settleIntervalMs?: number;
  /**
   * Where connection problems are logged (at most once a second). Message bodies are never logged.
   * @default consoleLogger
   */
  logger?: Logger;
}

/** {@link RedisListProducerOptions} checked, with every default applied and the queue's keys named. */
export interface ResolvedOptions {
  readonly redis: Redis | Cluster;
  readonly keys: QueueKeys;
  readonly mode: DeliveryMode;
  readonly batchSize: number;
  readonly blockTimeoutMs: number;
  readonly buffers: boolean;
  readonly leaseMs: number;
  readonly maxDeliveries: number;
  readonly settleBatch: number;
  readonly settleIntervalMs: number;
  readonly logger: Logger;
}

/**
 * Checks `options` and applies the defaults.
 * @throws {InvalidOptionError} naming the first bad option.
 */
export function resolveOptions(options: RedisListProducerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
  const { redis } = options;
  if (redis === null || typeof redis !== 'object' || typeof (redis as Redis).duplicate !== 'function') {
    throw new InvalidOptionError('redis', redis, 'an ioredis Redis or Cluster client');
  }
  nonEmptyString('key', options.key);
  const mode = options.mode ?? 'at-least-once';
  if (mode !== 'at-most-once' && mode !== 'at-least-once') {
    throw new InvalidOptionError('mode', mode, '"at-most-once" or "at-least-once"');
  }
  const blockTimeoutMs = integerAtLeast('blockTimeoutMs', options.blockTimeoutMs ?? 1000, 1);
  const leaseMs = integerAtLeast('leaseMs', options.leaseMs ?? 30_000, 100);
  if (mode === 'at-least-once' && blockTimeoutMs * 3 >= leaseMs) {
    throw new InvalidOptionError(
      'blockTimeoutMs',
      blockTimeoutMs,
      `an integer below leaseMs / 3 (leaseMs is ${leaseMs})`,
    );
  }
  return {
    redis,
    keys: queueKeys(options.key),
    mode,
    batchSize: integerAtLeast('batchSize', options.batchSize ?? 256, 1),
    blockTimeoutMs,
    buffers: options.buffers ?? false,
    leaseMs,
    maxDeliveries: integerAtLeast('maxDeliveries', options.maxDeliveries ?? 5, 0),
    settleBatch: integerAtLeast('settleBatch', options.settleBatch ?? 512, 1),
    settleIntervalMs: integerAtLeast('settleIntervalMs', options.settleIntervalMs ?? 10, 1),
    logger: safeLogger(options.logger ?? consoleLogger),
  };
}
