import {
  ChunkExecutor,
  consoleLogger,
  InvalidOptionError,
  type Logger,
  type Pusher,
  type PushInfo,
  type ShutdownManager,
} from '@q/core';
import { nonEmptyString } from '@q/core/internal';
import type { Cluster, Redis } from 'ioredis';
import { InvalidMessageError } from './errors.js';
import { withoutBodies } from './without-bodies.js';

/** What a {@link RedisListPusher} accepts: a body, or an at-least-once message (its body is pushed). */
export type PushableMessage =
  | string
  | Buffer
  | {
      /** What is pushed: the message's body. */
      readonly body: string | Buffer;
    };

/** Options of {@link RedisListPusher}. */
export interface RedisListPusherOptions {
  /** The client (`Redis` or `Cluster`). */
  redis: Redis | Cluster;
  /** The list to `RPUSH` to. */
  key: string;
  /**
   * Bytes per `RPUSH`: messages are sent in one variadic `RPUSH` once this many bytes are buffered.
   * @default 1048576 (1 MiB, go-zero's chunk)
   */
  chunkBytes?: number;
  /**
   * Longest time a message waits for its chunk to fill, in milliseconds. go-zero's 1 s is a long
   * wait for a queue; 100 ms keeps latency low and chunks still large under load.
   * @default 100
   */
  flushIntervalMs?: number;
  /**
   * Chunks written at once. More than 1 may reorder chunks.
   * @default 1
   */
  concurrency?: number;
  /**
   * Told about every failed write with the messages it held (a `push` had already resolved for
   * them; `pushAndConfirm` rejects).
   * @default logs the error (never the bodies) through `logger`
   */
  onError?: (error: unknown, messages: (string | Buffer)[]) => void;
  /** Flushes on SIGTERM/SIGINT through this manager; `close()` unregisters. */
  shutdown?: ShutdownManager;
  /** @default consoleLogger */
  logger?: Logger;
}

/**
 * go-zero rq's pusher, batched: messages go out in one variadic `RPUSH` per chunk through
 * {@link ChunkExecutor}. `push` resolves when the message was accepted (buffered; awaiting it applies
 * back-pressure), `pushAndConfirm` when Redis replied for its chunk, rejecting if the write failed.
 * Usable as a queue's `deadLetter`.
 */
export class RedisListPusher implements Pusher<PushableMessage> {
  readonly #executor: ChunkExecutor<string | Buffer>;
  readonly #name: string;

  /** @throws {InvalidOptionError} for a missing client or key, or bad sizes. */
  constructor(options: RedisListPusherOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', options, 'an object');
    const { redis, key } = options;
    if (redis === null || typeof redis !== 'object' || typeof (redis as Redis).rpush !== 'function') {
      throw new InvalidOptionError('redis', redis, 'an ioredis Redis or Cluster client');
    }
    nonEmptyString('key', key);
    const logger = options.logger ?? consoleLogger;
    this.#executor = new ChunkExecutor<string | Buffer>(
      async (messages) => {
        try {
          await redis.rpush(key, ...messages);
        } catch (error) {
          throw withoutBodies(error);
        }
      },
      {
        chunkBytes: options.chunkBytes ?? 1024 * 1024,
        flushIntervalMs: options.flushIntervalMs ?? 100,
        concurrency: options.concurrency ?? 1,
        onError:
          options.onError ??
          ((error, messages) => logger.error({ err: error, messages: messages.length }, `RPUSH to ${key} failed`)),
        shutdown: options.shutdown,
        logger,
      },
    );
    this.#name = `${'isCluster' in redis && redis.isCluster ? 'cluster' : 'node'}/${address(redis)}/${key}`;
  }

  /** go-zero's `Name()`: `"<node|cluster>/<host:port>/<key>"`. */
  name(): string {
    return this.#name;
  }

  /**
   * Buffers a message for the next `RPUSH`. Resolves at once, or, when this message completed a
   * chunk, once the chunk was accepted for writing.
   *
   * @throws {InvalidMessageError} for anything but a string, a Buffer or `{ body }` of one.
   */
  push(message: PushableMessage): Promise<void> {
    // Not `async`: most pushes only buffer, and a shared settled promise costs them no allocation.
    // Errors (a bad message, a closed pusher) still reject rather than throw, as they did.
    try {
      const body = bodyOf(message);
      return this.#executor.add(body, byteLength(body)) ?? ACCEPTED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Like `push`, but resolves once Redis acknowledged the chunk carrying the message, and rejects if
   * that write failed. `info.signal` ends the wait: the promise rejects with `ConfirmAbortedError`
   * (`Q_CONFIRM_ABORTED`) at once, while the chunk is still written for the others in it, so the
   * message may still reach the list (see {@link PushInfo.signal}).
   */
  pushAndConfirm(message: PushableMessage, info?: PushInfo): Promise<void> {
    try {
      const body = bodyOf(message);
      return this.#executor.addAndConfirm(body, byteLength(body), { signal: info?.signal });
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

  /** Writes what is buffered, waits for every write, and stops. */
  close(): Promise<void> {
    return this.#executor.close();
  }

  /** Same as {@link RedisListPusher.close}; for `await using pusher = ...`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const ACCEPTED: Promise<void> = Promise.resolve();

function bodyOf(message: PushableMessage): string | Buffer {
  if (typeof message === 'string' || Buffer.isBuffer(message)) return message;
  if (message !== null && typeof message === 'object') {
    const body = (message as { body?: unknown }).body;
    if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  }
  throw new InvalidMessageError(message);
}

function byteLength(body: string | Buffer): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
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
