import {
  ChunkExecutor,
  causeText,
  consoleLogger,
  EXPIRES_AT_HEADER,
  InvalidOptionError,
  PublishRejectedError,
  type Pusher,
  type PushInfo,
} from '@q/core';
import { nonEmptyString, safeLogger } from '@q/core/internal';
import type { Cluster, Redis } from 'ioredis';
import { cappedWriter } from './capped-writer.js';
import { withDeath } from './death.js';
import { checkDurability } from './durability-check.js';
import { stampExpiry } from './expiry.js';
import { hashTag, queueKeys } from './keys.js';
import {
  BatchTask,
  bodiesOf,
  bodyOf,
  bytesOf,
  type CappedEntry,
  dedupeWriter,
  type Item,
  type ListWriter,
  type PushableMessage,
  plainWriter,
  type Task,
  type WriteCounters,
} from './list-writer.js';
import { ReaderCheck } from './reader-check.js';
import {
  type PusherSemantics,
  pusherSemantics,
  type RedisListPusherOptions,
  type RedisListPusherStats,
} from './redis-list-pusher-options.js';

/**
 * go-zero rq's pusher, batched: messages go out in one variadic `RPUSH` per chunk through
 * {@link ChunkExecutor}. `push` resolves when the message was accepted (buffered; awaiting it applies
 * back-pressure), `pushAndConfirm` when Redis replied for its chunk, rejecting if the write failed,
 * `pushBatch` when Redis replied for a whole batch written in one request. Usable as a queue's
 * `deadLetter` (each dead letter gets a `q-death` record, reason `rejected`) and as an `@q/outbox`
 * sink; with `dedupe: 'outbox-id'` replays of an outbox's messages are dropped in Redis, atomically
 * with the push (see {@link RedisListPusherOptions.dedupe}). AMQP-grade options: `ttlMs`,
 * `maxLength` with `overflow`, `mandatory` (see docs/redis.md, "AMQP-grade semantics"). On its
 * client's first connect it logs a warning when a confirm does not mean fsync'd to disk
 * (`appendfsync` is not `always`), once per client.
 */
export class RedisListPusher implements Pusher<PushableMessage> {
  readonly #executor: ChunkExecutor<Task>;
  readonly #writer: ListWriter;
  readonly #counters: WriteCounters = { written: 0, duplicatesSkipped: 0, rejected: 0, dropped: 0 };
  readonly #name: string;
  readonly #key: string;
  readonly #semantics: PusherSemantics;
  /** With `mandatory`: whether anything reads the list. */
  readonly #readers: ReaderCheck | undefined;
  /** With `overflow: 'reject-publish'`: pushes learn whether the script stored them. */
  readonly #rejecting: boolean;
  readonly #forgetDurabilityCheck: () => void;

  /**
   * @throws {InvalidOptionError} for a missing client or key, bad sizes, an unknown `dedupe`,
   *   `concurrency` above 1 with `dedupe`, a `highWaterKey` without `dedupe` or equal to `key`, a
   *   `ttlMs` out of range, a `maxLength` below 1 or with `dedupe`, an unknown `overflow` or one
   *   without `maxLength`, a `deadLetterKey` outside the list's hash slot, a `mandatory` that is not
   *   a boolean.
   */
  constructor(options: RedisListPusherOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
    const { redis, key } = options;
    if (redis === null || typeof redis !== 'object' || typeof (redis as Redis).rpush !== 'function') {
      throw new InvalidOptionError('redis', redis, 'an ioredis Redis or Cluster client');
    }
    nonEmptyString('key', key);
    const concurrency = options.concurrency ?? 1;
    const highWaterKey = dedupeKey(options, concurrency);
    const semantics = pusherSemantics(options);
    this.#semantics = semantics;
    this.#key = key;
    const logger = options.logger ?? consoleLogger;
    const onError = options.onError;
    // Checked here: the executor only ever sees the wrapper below.
    if (onError !== undefined && typeof onError !== 'function')
      throw new InvalidOptionError('onError', onError, 'a function');
    const { maxLength } = semantics;
    this.#rejecting = maxLength !== undefined && semantics.overflow === 'reject-publish';
    const onRejected = (bodies: (string | Buffer)[]): void => {
      const error = new PublishRejectedError(key, 'maxlen');
      if (onError === undefined) {
        safeLogger(logger).warn({ list: key, messages: bodies.length }, error.message);
        return;
      }
      // The write itself succeeded: a throwing callback must not fail the chunk's confirms.
      try {
        onError(error, bodies);
      } catch (thrown) {
        safeLogger(logger).error({ list: key, err: causeText(thrown) }, 'onError threw');
      }
    };
    this.#writer =
      maxLength !== undefined
        ? cappedWriter(
            redis,
            { key, maxLength, overflow: semantics.overflow, deadLetterKey: semantics.deadLetterKey },
            this.#counters,
            onRejected,
          )
        : highWaterKey === undefined
          ? plainWriter(redis, key, this.#counters)
          : dedupeWriter(redis, key, highWaterKey, this.#counters);
    this.#readers =
      semantics.readersKey === undefined
        ? undefined
        : new ReaderCheck(redis, semantics.readersKey, key, semantics.mandatoryCacheMs);
    const write =
      maxLength !== undefined ? 'capped RPUSH' : highWaterKey === undefined ? 'RPUSH' : 'de-duplicating RPUSH';
    this.#executor = new ChunkExecutor<Task>((tasks) => this.#writer.write(tasks), {
      chunkBytes: options.chunkBytes ?? 1024 * 1024,
      flushIntervalMs: options.flushIntervalMs ?? 100,
      concurrency,
      onError:
        onError === undefined
          ? (error, tasks) =>
              logger.error({ err: error, messages: bodiesOf(tasks).length }, `${write} to ${key} failed`)
          : (error, tasks) => onError(error, bodiesOf(tasks)),
      shutdown: options.shutdown,
      logger,
    });
    this.#name = `${'isCluster' in redis && redis.isCluster ? 'cluster' : 'node'}/${address(redis)}/${key}`;
    this.#forgetDurabilityCheck = checkDurability(redis, safeLogger(logger), key);
  }

  /** go-zero's `Name()`: `"<node|cluster>/<host:port>/<key>"`. */
  name(): string {
    return this.#name;
  }

  /**
   * Buffers a message for the next `RPUSH`. Resolves at once, or, when this message completed a
   * chunk, once the chunk was accepted for writing. With `info.cause`, `info.attempts` or
   * `info.reason` (a dead letter) a `q-death` record (reason `info.reason`, by default `rejected`) is
   * added to its envelope first.
   *
   * @throws {InvalidMessageError} for anything but a string, a Buffer or `{ body }` of one.
   * @throws {InvalidOutboxIdError} with `dedupe`, for a message without a valid `q-outbox-id` header.
   * @throws {UnroutableError} with `mandatory`, when no producer is registered for the list.
   */
  push(message: PushableMessage, info?: PushInfo): Promise<void> {
    // Not `async`: most pushes only buffer, and a shared settled promise costs them no allocation.
    // Errors (a bad message, a closed pusher) still reject rather than throw, as they did.
    try {
      const item = this.#writer.item(this.#prepare(message, info));
      const readers = this.#readers;
      if (readers !== undefined && !readers.known()) {
        return readers.check().then(() => this.#executor.add(item, bytesOf(item)));
      }
      return this.#executor.add(item, bytesOf(item)) ?? ACCEPTED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Like `push`, but resolves once Redis acknowledged the chunk carrying the message, and rejects if
   * that write failed. `info.signal` ends the wait: the promise rejects with `ConfirmAbortedError`
   * (`Q_CONFIRM_ABORTED`) at once, while the chunk is still written for the others in it, so the
   * message may still reach the list (see {@link PushInfo.signal}). With `dedupe`, a message skipped
   * as a duplicate is confirmed too (the list had it).
   *
   * @throws {InvalidMessageError} (as a rejection) for anything but a string, a Buffer or `{ body }`.
   * @throws {InvalidOutboxIdError} (as a rejection) with `dedupe`, for a message without a valid id.
   * @throws {PublishRejectedError} (as a rejection) with `overflow: 'reject-publish'`, when the list
   *   was at `maxLength`: the message was not stored.
   * @throws {UnroutableError} (as a rejection) with `mandatory`, when no producer is registered.
   */
  pushAndConfirm(message: PushableMessage, info?: PushInfo): Promise<void> {
    try {
      const item = this.#writer.item(this.#prepare(message, info));
      const confirm = (): Promise<void> =>
        this.#verdict(item, this.#executor.addAndConfirm(item, bytesOf(item), { signal: info?.signal }));
      const readers = this.#readers;
      return readers !== undefined && !readers.known() ? readers.check().then(confirm) : confirm();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Writes `messages` in one request, in their order (one `RPUSH`; with `dedupe`, one call of the
   * de-duplicating script, which pushes in slices inside Redis), and resolves once Redis replied;
   * rejects with the write's error (bodies removed) when it did not, and then any part of the batch
   * may be in the list: push the same batch again (with `dedupe` the part already there is skipped).
   * It goes out at once, after the chunks `push` and `pushAndConfirm` buffered before it (with
   * `concurrency` 1 writes never overlap, so it can neither overtake them nor be overtaken by a later
   * one), together with whatever is still buffered, and is never split. An empty batch resolves at
   * once. `info.signal` ends the wait as for `pushAndConfirm` (the batch may still be written);
   * already aborted, nothing is pushed.
   *
   * @throws {InvalidMessageError} (as a rejection) when any message is not a string, a Buffer or
   *   `{ body }`: nothing of the batch is written.
   * @throws {InvalidOutboxIdError} (as a rejection) with `dedupe`, when any message lacks a valid
   *   `q-outbox-id`: nothing of the batch is written; `index` names the message.
   * @throws {PublishRejectedError} (as a rejection) with `overflow: 'reject-publish'`, when the whole
   *   batch did not fit below `maxLength`: nothing of it was stored.
   * @throws {UnroutableError} (as a rejection) with `mandatory`, when no producer is registered.
   */
  pushBatch(messages: readonly PushableMessage[], info?: PushInfo): Promise<void> {
    try {
      if (!Array.isArray(messages)) throw new InvalidOptionError('messages', messages, 'an array of messages');
      if (messages.length === 0) return ACCEPTED;
      const items: Item[] = new Array(messages.length);
      let bytes = 0;
      for (let i = 0; i < messages.length; i++) {
        const item = this.#writer.item(this.#prepare(messages[i] as PushableMessage, info), i);
        items[i] = item;
        bytes += bytesOf(item);
      }
      const batch = new BatchTask(items);
      const send = (): Promise<void> => {
        const confirmed = this.#executor.addAndConfirm(batch, bytes, { signal: info?.signal });
        // Below chunkBytes the batch would wait for the flush interval: the caller waits for it, so it
        // goes now (a flush finding the batch already taken by a full chunk executes nothing).
        void this.#executor.flush();
        return this.#verdict(batch, confirmed);
      };
      const readers = this.#readers;
      return readers !== undefined && !readers.known() ? readers.check().then(send) : send();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Writes whatever is buffered now; resolves once Redis answered. `options.signal` ends the wait
   * (rejecting with `ConfirmAbortedError`), not the write.
   */
  flush(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      return this.#executor.flush({ signal: options.signal });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** What was written so far: a snapshot, see {@link RedisListPusherStats}. */
  stats(): RedisListPusherStats {
    const { written, duplicatesSkipped, rejected, dropped } = this.#counters;
    return { written, duplicatesSkipped, rejected, dropped };
  }

  /** Writes what is buffered, waits for every write, and stops. */
  close(): Promise<void> {
    this.#forgetDurabilityCheck();
    return this.#executor.close();
  }

  /** Same as {@link RedisListPusher.close}; for `await using pusher = ...`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * The message as it is stored: with a `q-death` record when it is a dead letter (`info` carries
   * `cause`, `attempts` or `reason`), with its expiry when `ttlMs` is set; otherwise as given.
   */
  #prepare(message: PushableMessage, info: PushInfo | undefined): PushableMessage {
    const dead =
      info !== undefined && (info.cause !== undefined || info.attempts !== undefined || info.reason !== undefined);
    const { ttlMs } = this.#semantics;
    if (!dead && ttlMs === undefined) return message;
    let body = bodyOf(message);
    const headers = typeof message === 'object' && !Buffer.isBuffer(message) ? message.headers : undefined;
    if (dead) {
      body = withDeath(body, {
        reason: info.reason ?? 'rejected',
        queue: this.#semantics.source ?? sourceOf(message) ?? this.#key,
        ...(info.cause !== undefined ? { cause: causeText(info.cause) } : {}),
      });
    }
    // A dead letter's old expiry is gone (withDeath): only this pusher's own ttlMs applies to it.
    if (ttlMs !== undefined)
      body = stampExpiry(body, Date.now() + ttlMs, dead ? undefined : headers?.[EXPIRES_AT_HEADER]);
    return headers === undefined ? body : { body, headers };
  }

  /** `written`, rejecting with `PublishRejectedError` when the capped script refused the task. */
  #verdict(task: Task, written: Promise<void>): Promise<void> {
    if (!this.#rejecting) return written;
    return written.then(() => {
      if ((task as CappedEntry | BatchTask).rejected) throw new PublishRejectedError(this.#key, 'maxlen');
    });
  }
}

const ACCEPTED: Promise<void> = Promise.resolve();

/** The list a message came from, when it says (a `RedisMessage` of an at-least-once producer). */
function sourceOf(message: PushableMessage): string | undefined {
  if (typeof message !== 'object' || Buffer.isBuffer(message)) return undefined;
  const source = (message as { source?: unknown }).source;
  return typeof source === 'string' && source.length > 0 ? source : undefined;
}

/**
 * The high-water hash of a de-duplicating pusher, `undefined` without `dedupe`.
 * @throws {InvalidOptionError} for a bad `dedupe`, `highWaterKey` or `concurrency` with `dedupe`.
 */
function dedupeKey(options: RedisListPusherOptions, concurrency: number): string | undefined {
  const { dedupe, highWaterKey, key } = options;
  if (dedupe === undefined) {
    if (highWaterKey !== undefined) {
      throw new InvalidOptionError('highWaterKey', highWaterKey, "only with dedupe: 'outbox-id' (nothing reads it)");
    }
    return undefined;
  }
  if (dedupe !== 'outbox-id') throw new InvalidOptionError('dedupe', dedupe, "'outbox-id' or undefined");
  if (concurrency !== 1) {
    throw new InvalidOptionError(
      'concurrency',
      concurrency,
      "1 with dedupe: 'outbox-id' (chunks written at once may land out of order, and the high-water mark would drop a lower id that came second)",
    );
  }
  if (highWaterKey !== undefined) {
    nonEmptyString('highWaterKey', highWaterKey);
    if (highWaterKey === key) throw new InvalidOptionError('highWaterKey', highWaterKey, 'a key other than key');
    return highWaterKey;
  }
  if (hashTag(key) === undefined && key.includes('}')) {
    throw new InvalidOptionError(
      'highWaterKey',
      highWaterKey,
      `a key in the Cluster slot of ${JSON.stringify(key)}, given explicitly: that key has no hash tag but a "}", so no key derived from it shares its slot`,
    );
  }
  return queueKeys(key).outboxHighWater;
}

function address(redis: Redis | Cluster): string {
  if ('isCluster' in redis && redis.isCluster) {
    // ioredis keeps the seed nodes private; they are the stable part of a cluster's address.
    const node = (redis as unknown as { startupNodes: ({ host?: string; port?: number } | string)[] }).startupNodes[0];
    return typeof node === 'object' && node !== null
      ? `${node.host ?? '127.0.0.1'}:${node.port ?? 6379}`
      : String(node);
  }
  const { host, port } = (redis as Redis).options;
  return `${host ?? '127.0.0.1'}:${port ?? 6379}`;
}
