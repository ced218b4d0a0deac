import { InvalidOptionError, type Logger, type ShutdownManager, ttlOption } from '@q/core';
import { integerAtLeast, nonEmptyString } from '@q/core/internal';
import type { Cluster, Redis } from 'ioredis';
import { hashTag, queueKeys } from './keys.js';

/** Options of {@link RedisListPusher}. */
export interface RedisListPusherOptions {
  /** The client (`Redis` or `Cluster`). */
  redis: Redis | Cluster;
  /** The list to `RPUSH` to. */
  key: string;
  /**
   * Bytes per `RPUSH`: messages are sent in one variadic `RPUSH` once this many bytes are buffered.
   * A `pushBatch` is never split: it goes out whole, with what was buffered before it.
   * @default 1048576 (1 MiB, go-zero's chunk)
   */
  chunkBytes?: number;
  /**
   * Longest time a message waits for its chunk to fill, in milliseconds. go-zero's 1 s is a long
   * wait for a queue; 100 ms keeps latency low and chunks still large under load. `pushBatch` does
   * not wait: it writes at once.
   * @default 100
   */
  flushIntervalMs?: number;
  /**
   * Chunks written at once. More than 1 may reorder chunks, `pushBatch`es among them; not allowed
   * with `dedupe` (a high-water mark would drop a lower id that landed after a higher one).
   * @default 1
   */
  concurrency?: number;
  /**
   * `'outbox-id'`: every write pushes only the messages whose `q-outbox-id` header
   * (`<outbox>:<seq>`, as `@q/outbox` sets it) is above that outbox's high-water mark, and raises
   * the mark, atomically in one Lua script with the `RPUSH`. A forwarder that pushes a batch again
   * after a crash or a lost reply so adds nothing twice. Every message then needs a valid id
   * (`InvalidOutboxIdError` otherwise) and `concurrency` must be 1. Skipped messages count as
   * confirmed and in `stats().duplicatesSkipped`. Exact only when each outbox's messages reach this
   * pusher in sequence order (one batch in flight, retried whole: what `@q/outbox` does with
   * `pushBatch`); a sequence at or below the mark is dropped however it got there.
   * @default none (every message is pushed)
   */
  dedupe?: 'outbox-id';
  /**
   * With `dedupe`: the hash holding the marks (outbox id -> highest sequence pushed). On a Redis
   * Cluster it must share the list's hash slot (else every write fails with `CROSSSLOT`).
   * @default `queueKeys(key).outboxHighWater`: `<key>:q:outbox-hwm` when `key` has a hash tag
   *   (`{orders}:jobs`), else `{<key>}:q:outbox-hwm`; both hash to the list's slot
   */
  highWaterKey?: string;
  /**
   * Told about every failed write with the messages it held (a `push` had already resolved for
   * them; `pushAndConfirm` and `pushBatch` reject), and, with `overflow: 'reject-publish'`, about
   * the messages the full list refused (with a `PublishRejectedError`). A throw is logged.
   * @default logs the error (never the bodies) through `logger`
   */
  onError?: (error: unknown, messages: (string | Buffer)[]) => void;
  /**
   * Time to live of every message pushed, in milliseconds (RabbitMQ's per-message TTL): the push
   * stamps `q-expires-at` (`EXPIRES_AT_HEADER` of `@q/core`, now + `ttlMs`) into the message's
   * envelope (see `ENVELOPE_MAGIC`), other envelope headers kept. A message that already
   * carries an expiry (in its envelope, or in the `q-expires-at` of its `headers`) keeps the earlier
   * of the two. Expiry is lazy: the message stays in the list, counted by `maxLength`, until a
   * producer of `redisListProducerFactory` takes it; then it is dead-lettered or dropped instead of
   * handled (see `RedisListProducerOptions.deadLetter`). 0 expires a message unless it is taken at once.
   * @default none (messages do not expire)
   */
  ttlMs?: number;
  /**
   * Most messages the list holds (RabbitMQ's `x-max-length`), enforced atomically in the push script
   * (`lua/push-capped-2.lua`) by every push of this pusher; pushes of other clients are not checked.
   * What happens to a push that does not fit is `overflow`. Not with `dedupe`.
   * @default none (no limit)
   */
  maxLength?: number;
  /**
   * With `maxLength`, what a full list does (RabbitMQ's `x-overflow`):
   * - `'drop-head'`: the push is stored and the oldest messages over the limit are trimmed (exact,
   *   `LTRIM`, no `~`); they go to `deadLetterKey` when it is set, and counted in `stats().dropped`;
   * - `'reject-publish'`: a push that does not fit is not stored: `pushAndConfirm` and `pushBatch`
   *   reject with `PublishRejectedError` (`reason` `'maxlen'`); every refused message is also given
   *   to `onError` (or logged), which is all a `push` (resolved when buffered) learns of it. A
   *   `pushBatch` is stored whole or rejected whole. Counted in `stats().rejected`.
   * @default 'drop-head' (RabbitMQ's default)
   */
  overflow?: 'drop-head' | 'reject-publish';
  /**
   * With `maxLength` and `overflow: 'drop-head'`: the list the trimmed messages go to, each with a
   * `q-death` record (reason `maxlen`, queue `key`) added to its envelope and its `q-expires-at`
   * removed, in the same script as the trim. It must share the list's Cluster slot: both keys carry
   * the same hash tag (`{orders}:jobs`, `{orders}:dropped`), or it is tagged with the whole list key
   * (`{jobs}:dropped` for `jobs`).
   * @default none (trimmed messages are discarded)
   */
  deadLetterKey?: string;
  /**
   * AMQP's `mandatory`: a push rejects with `UnroutableError` (and nothing is stored) when no
   * producer of `redisListProducerFactory` is registered for the list. Producers of both modes
   * register while they run (a sorted set `<tag>:q:readers`, each entry living `leaseMs` and renewed
   * every third of it, removed on close); a positive answer is cached `mandatoryCacheMs`, so a push
   * costs no round trip while a consumer is known. A push that had to ask waits for the answer
   * before it is buffered.
   * @default false
   */
  mandatory?: boolean;
  /**
   * With `mandatory`: how long a "some consumer is registered" answer is trusted, in milliseconds. A
   * "none" answer is never cached.
   * @default 1000
   */
  mandatoryCacheMs?: number;
  /**
   * The queue named in the `q-death` record this pusher adds to a dead letter (a push whose `info`
   * carries `cause`, `attempts` or `reason`: what a `Queue` whose `deadLetter` this pusher is sends;
   * the reason is `info.reason`, by default `rejected`).
   * @default the message's `source` (a `RedisMessage` of an at-least-once producer names its list),
   *   else this pusher's `key`
   */
  source?: string;
  /** Flushes on SIGTERM/SIGINT through this manager; `close()` unregisters. */
  shutdown?: ShutdownManager;
  /** @default consoleLogger */
  logger?: Logger;
}

/** What a {@link RedisListPusher} has written since it was made. */
export interface RedisListPusherStats {
  /**
   * Messages Redis confirmed as added to the list, by the reply to the write that added them. With
   * `dedupe`, a write whose reply was lost (a connection cut) and that was sent again counts its messages
   * in `duplicatesSkipped`: the first write added them, the second found them there. So `written` may be
   * lower than what the list received (a write whose reply was lost and that was never sent again is in
   * neither).
   */
  readonly written: number;
  /**
   * Messages not added by `dedupe: 'outbox-id'` because their sequence was at or below their
   * outbox's high-water mark: replays of messages already in the list (or already taken from it).
   * Always 0 without `dedupe`.
   */
  readonly duplicatesSkipped: number;
  /** Messages `overflow: 'reject-publish'` refused because the list was at `maxLength`. */
  readonly rejected: number;
  /** Messages `overflow: 'drop-head'` trimmed from the head of the list (dead-lettered or discarded). */
  readonly dropped: number;
}

/** The AMQP-grade options of {@link RedisListPusherOptions}, checked. */
export interface PusherSemantics {
  readonly ttlMs: number | undefined;
  readonly maxLength: number | undefined;
  readonly overflow: 'drop-head' | 'reject-publish';
  readonly deadLetterKey: string | undefined;
  /** The readers set to check before a push, when `mandatory`. */
  readonly readersKey: string | undefined;
  readonly mandatoryCacheMs: number;
  readonly source: string | undefined;
}

/**
 * Checks the AMQP-grade options.
 * @throws {InvalidOptionError} naming the first bad option.
 */
export function pusherSemantics(options: RedisListPusherOptions): PusherSemantics {
  const { key } = options;
  const ttlMs = ttlOption('ttlMs', options.ttlMs);
  const maxLength =
    options.maxLength === undefined ? undefined : integerAtLeast('maxLength', options.maxLength, 1, 2 ** 32 - 1);
  const overflow = options.overflow ?? 'drop-head';
  if (overflow !== 'drop-head' && overflow !== 'reject-publish') {
    throw new InvalidOptionError('overflow', overflow, "'drop-head' or 'reject-publish'");
  }
  if (maxLength === undefined && options.overflow !== undefined) {
    throw new InvalidOptionError('overflow', options.overflow, 'only with maxLength (nothing overflows without it)');
  }
  if (maxLength !== undefined && options.dedupe !== undefined) {
    throw new InvalidOptionError(
      'maxLength',
      maxLength,
      "undefined with dedupe: 'outbox-id' (an outbox must not lose or fail what it forwards)",
    );
  }
  const deadLetterKey = options.deadLetterKey;
  if (deadLetterKey !== undefined) {
    nonEmptyString('deadLetterKey', deadLetterKey);
    if (maxLength === undefined || overflow !== 'drop-head') {
      throw new InvalidOptionError('deadLetterKey', deadLetterKey, "only with maxLength and overflow 'drop-head'");
    }
    if (deadLetterKey === key) throw new InvalidOptionError('deadLetterKey', deadLetterKey, 'a key other than key');
    if (slotTag(deadLetterKey) !== slotTag(key)) {
      throw new InvalidOptionError(
        'deadLetterKey',
        deadLetterKey,
        `a key with the hash tag of ${JSON.stringify(key)} ("{${slotTag(key)}}..."), so both are in one Cluster slot and one script`,
      );
    }
  }
  const mandatory = options.mandatory ?? false;
  if (typeof mandatory !== 'boolean') throw new InvalidOptionError('mandatory', mandatory, 'a boolean');
  const mandatoryCacheMs = integerAtLeast('mandatoryCacheMs', options.mandatoryCacheMs ?? 1000, 0, 2 ** 31 - 1);
  if (options.source !== undefined) nonEmptyString('source', options.source);
  return {
    ttlMs,
    maxLength,
    overflow,
    deadLetterKey,
    // queueKeys refuses a key no derived key can share a slot with: only checked when it is needed.
    readersKey: mandatory ? queueKeys(key).readers : undefined,
    mandatoryCacheMs,
    source: options.source,
  };
}

/** What Redis Cluster hashes for `key`: its hash tag, or the whole key. */
function slotTag(key: string): string {
  return hashTag(key) ?? key;
}
