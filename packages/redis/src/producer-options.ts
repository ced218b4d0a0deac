import { consoleLogger, InvalidOptionError, type Logger, type Pusher } from '@q/core';
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
  /**
   * The list it was taken from: a `RedisListPusher` that receives it as a queue's dead letter names
   * this queue in the `q-death` record it adds.
   */
  readonly source: string;
}

/** What the producers of one {@link redisListProducerFactory} did besides handing out messages. */
export interface RedisListProducerStats {
  /** Messages found expired (`q-expires-at` passed) when taken: never handed to a handler. */
  readonly expired: number;
  /** Expired messages dropped because there is no `deadLetter` (each batch of them also logs a warning). */
  readonly dropped: number;
  /** Messages `deadLetter` confirmed: expired ones and, at-least-once, those over `maxDeliveries`. */
  readonly deadLettered: number;
}

/** The counters behind {@link RedisListProducerStats}, shared by a factory's producers. */
export interface ProducerCounters {
  expired: number;
  dropped: number;
  deadLettered: number;
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
   * messages go back to the list this long after it dies. Both modes: how long a producer's entry in
   * the list's readers set lives without renewal (what `RedisListPusher`'s `mandatory` checks).
   * @default 30000
   */
  leaseMs?: number;
  /**
   * At-least-once: a message about to be delivered more often than this is dead-lettered instead:
   * with `deadLetter`, pushed there with a `q-death` record (reason `delivery-limit`) and removed
   * from the list only once that push was confirmed; without, moved as it is to the dead-letter list
   * `<tag>:q:dead` (atomically, in the claim script). 0 means no limit.
   * @default 5
   */
  maxDeliveries?: number;
  /**
   * Where messages go that must never reach a handler: expired ones (their `q-expires-at`, stamped by
   * a `RedisListPusher` with `ttlMs`, passed when they were taken: RabbitMQ's lazy per-message TTL)
   * and, at-least-once, those over `maxDeliveries`. Each is pushed (`pushAndConfirm` when the pusher
   * has it) as its body with a `q-death` record added to its envelope (reason `expired` or
   * `delivery-limit`, queue `key`) and its expiry removed; a failed push is retried with back-off
   * while the producer runs, and at close the message goes back to the list (so a message may reach
   * the dead-letter list twice when a push's confirm was lost; never zero times).
   * - at-least-once: the message stays in the consumer's in-flight record until the push is
   *   confirmed, and is removed then; a crash before hands it to another consumer, which checks it again.
   * - at-most-once: the message left the list when it was popped; a crash before the push confirmed
   *   loses it, as any popped message.
   * Without it, expired messages are dropped: counted in `stats().dropped` of the factory, and each
   * batch holding any logs one warning.
   * @default none (expired messages are dropped; over `maxDeliveries` go to `<tag>:q:dead`)
   */
  deadLetter?: Pusher<string | Buffer>;
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
  readonly deadLetter: Pusher<string | Buffer> | undefined;
  readonly counters: ProducerCounters;
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
  const deadLetter = options.deadLetter;
  if (
    deadLetter !== undefined &&
    (deadLetter === null ||
      typeof deadLetter !== 'object' ||
      typeof deadLetter.push !== 'function' ||
      typeof deadLetter.name !== 'function')
  ) {
    throw new InvalidOptionError('deadLetter', deadLetter, 'a Pusher (an object with push() and name())');
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
    deadLetter,
    counters: { expired: 0, dropped: 0, deadLettered: 0 },
    settleBatch: integerAtLeast('settleBatch', options.settleBatch ?? 512, 1),
    settleIntervalMs: integerAtLeast('settleIntervalMs', options.settleIntervalMs ?? 10, 1),
    logger: safeLogger(options.logger ?? consoleLogger),
  };
}
