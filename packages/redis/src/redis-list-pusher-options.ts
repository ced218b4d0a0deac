import type { Logger, ShutdownManager } from '@q/core';
import type { Cluster, Redis } from 'ioredis';

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
   * them; `pushAndConfirm` and `pushBatch` reject).
   * @default logs the error (never the bodies) through `logger`
   */
  onError?: (error: unknown, messages: (string | Buffer)[]) => void;
  /** Flushes on SIGTERM/SIGINT through this manager; `close()` unregisters. */
  shutdown?: ShutdownManager;
  /** @default consoleLogger */
  logger?: Logger;
}

/** What a {@link RedisListPusher} has written since it was made. */
export interface RedisListPusherStats {
  /** Messages Redis confirmed as added to the list. */
  readonly written: number;
  /**
   * Messages not added by `dedupe: 'outbox-id'` because their sequence was at or below their
   * outbox's high-water mark: replays of messages already in the list (or already taken from it).
   * Always 0 without `dedupe`.
   */
  readonly duplicatesSkipped: number;
}
