import {
  ChunkExecutor,
  type ConfirmingPusher,
  consoleLogger,
  EXPIRES_AT_HEADER,
  expiresAt,
  InvalidOptionError,
  isExpired,
  type Logger,
  OUTBOX_ID_HEADER,
  type PushInfo,
  retryPolicy,
  ttlOption,
  UnsupportedFeatureError,
} from '@q/core';
import { abortable, duration, integerAtLeast, nonEmptyString, safeLogger } from '@q/core/internal';
import type { OutgoingMessage, ProducerClient } from './client.js';
import { MessageTooLargeError, WriteAbandonedError } from './errors.js';
import type { KafkaPusherOptions } from './kafka-pusher-options.js';
import { kafkajsClient } from './kafkajs-client.js';
import { ProducerConnection } from './producer-connection.js';
import {
  headerBytes,
  type KafkaPusherMessage,
  keyBytes,
  nextKey,
  outgoing,
  outgoingOrError,
  type PusherTask,
  RECORD_OVERHEAD_BYTES,
  recordsOf,
  valueBytes,
  WholeBatch,
} from './pusher-message.js';

export type { KafkaPusherOptions } from './kafka-pusher-options.js';
export type { KafkaPusherMessage } from './pusher-message.js';

/**
 * go-queue's kq `Pusher`, fixed: broker acks by default, errors that reach the caller (`syncPush`)
 * or `onError` (never only a log), `close()` that flushes. Messages are batched through
 * {@link ChunkExecutor}: one `send` per chunk.
 */
export class KafkaPusher implements ConfirmingPusher<KafkaPusherMessage> {
  readonly #topic: string;
  readonly #producer: ProducerClient;
  readonly #connection: ProducerConnection;
  readonly #executor: ChunkExecutor<PusherTask>;
  readonly #syncPush: boolean;
  readonly #maxMessageBytes: number;
  readonly #traceparent: (() => string | undefined) | undefined;
  readonly #traceHeaders: (() => Readonly<Record<string, string>> | undefined) | undefined;
  readonly #logger: Logger;
  /** `ttlMs`: each message is stamped with its expiry when set. */
  readonly #ttlMs: number | undefined;
  /** Aborted when close() gives up on the writes under way. */
  readonly #abandoned = new AbortController();
  /** Whether the warning about `acks` other than -1 was given (once per pusher). */
  #warnedAcks = false;

  /**
   * @throws {InvalidOptionError} without brokers or topic, or with bad sizes or flags.
   * @throws {UnsupportedFeatureError} given `maxLength` or `overflow`: Kafka has no such limit.
   */
  constructor(options: KafkaPusherOptions) {
    if (!Array.isArray(options?.brokers) || options.brokers.length === 0) {
      throw new InvalidOptionError('brokers', options?.brokers, 'a non-empty array of "host:port"');
    }
    nonEmptyString('topic', options.topic);
    refuseMaxLength(options);
    this.#ttlMs = ttlOption('ttlMs', options.ttlMs);
    const allowAutoTopicCreation = options.allowAutoTopicCreation ?? false;
    if (typeof allowAutoTopicCreation !== 'boolean')
      throw new InvalidOptionError('allowAutoTopicCreation', allowAutoTopicCreation, 'a boolean');
    const acks = options.acks ?? -1;
    if (acks !== -1 && acks !== 0 && acks !== 1) throw new InvalidOptionError('acks', acks, '-1, 0 or 1');
    const compression = options.compression ?? 'none';
    if (compression !== 'none' && compression !== 'gzip')
      throw new InvalidOptionError('compression', compression, '"none" or "gzip"');
    this.#maxMessageBytes = integerAtLeast('maxMessageBytes', options.maxMessageBytes ?? 1024 * 1024, 1);
    this.#topic = options.topic;
    this.#syncPush = options.syncPush ?? false;
    this.#traceparent = options.traceparent;
    this.#traceHeaders = options.traceHeaders;
    const client = options.client ?? kafkajsClient;
    if (options.reconnect !== undefined && (options.reconnect === null || typeof options.reconnect !== 'object')) {
      throw new InvalidOptionError('reconnect', options.reconnect, 'an object');
    }
    const reconnect = retryPolicy({ attempts: 3, ...options.reconnect }, 'reconnect', {
      minDelayMs: 100,
      maxDelayMs: 5000,
    });
    this.#producer = client.producer(options, { idempotent: options.idempotent ?? false, allowAutoTopicCreation });
    this.#connection = new ProducerConnection(this.#producer, reconnect);
    const logger = safeLogger(options.logger ?? consoleLogger);
    this.#logger = logger;
    const onError = options.onError;
    this.#executor = new ChunkExecutor<PusherTask>(
      async (chunk) => {
        // After close() gave up, chunks still queued fail at once instead of each waiting out
        // kafkajs's retries against connections that can no longer open.
        if (this.#abandoned.signal.aborted) throw new WriteAbandonedError(this.#topic);
        await this.#connection.ready();
        if (acks !== -1 && !this.#warnedAcks) this.#warnAcks(acks);
        await abortable(
          this.#producer.send(this.#topic, recordsOf(chunk), { acks, compression }),
          this.#abandoned.signal,
          () => {
            throw new WriteAbandonedError(this.#topic);
          },
        );
      },
      {
        chunkBytes: options.chunkBytes ?? 1024 * 1024,
        chunkTasks: integerAtLeast('maxBatchMessages', options.maxBatchMessages ?? 10_000, 1),
        flushIntervalMs: options.flushIntervalMs ?? 100,
        onError:
          onError === undefined
            ? (error, chunk) =>
                logger.error({ err: error, messages: recordsOf(chunk).length }, `send to ${this.#topic} failed`)
            : (error, chunk) => onError(error, [...recordsOf(chunk)]),
        shutdown: options.shutdown,
        logger,
      },
    );
  }

  /** go-zero's `Name()`: the topic. */
  name(): string {
    return this.#topic;
  }

  /**
   * kq's `Push`: the key is a nanosecond time stamp, which spreads messages over partitions. Also the
   * `Pusher` contract, so a KafkaPusher can be a queue's dead-letter target: a `{ key, value, headers }`
   * message keeps its key and headers, and `info.cause` / `info.attempts` are added as headers.
   */
  push(message: KafkaPusherMessage, info?: PushInfo): Promise<void> {
    const out = outgoingOrError(message, info);
    return out instanceof Error ? Promise.reject(out) : this.#add(out, this.#syncPush, info?.signal);
  }

  /**
   * Like {@link push}, but resolves only once the broker acknowledged the message (with `acks`) and
   * rejects when the write failed, whatever `syncPush` says: what a queue's dead letter needs before
   * the message may leave its source. `info.signal` ends the wait: the promise rejects with
   * `ConfirmAbortedError` (`Q_CONFIRM_ABORTED`) at once, while the chunk is still sent for the others
   * in it, so the message may still be written (see {@link PushInfo.signal}).
   */
  pushAndConfirm(message: KafkaPusherMessage, info?: PushInfo): Promise<void> {
    const out = outgoingOrError(message, info);
    return out instanceof Error ? Promise.reject(out) : this.#add(out, true, info?.signal);
  }

  /**
   * The optional `Pusher.pushBatch` of `@q/core`: writes `messages` in ONE `send`, in their order
   * (`chunkBytes` and `maxBatchMessages` do not split it), after every chunk buffered by earlier
   * pushes (it never overtakes them), and resolves once the broker acknowledged all of them (with
   * `acks`); rejects when the send failed, and then any part of it may have been written (a
   * partition's records are written together or not at all, but a batch spread over partitions led
   * by several brokers can be written in part): retry the whole batch. Sends are one at a time, so
   * nothing pushed after it is written before its outcome is known.
   *
   * Each message is checked first: one that cannot be written (over `maxMessageBytes`, malformed)
   * rejects the batch with its error (a {@link MessageTooLargeError} names its place in the batch and
   * its `q-outbox-id` header, if any) and nothing is sent. Trace headers and `info.cause` /
   * `info.attempts` are added to every message as `push` does. An empty batch resolves at once.
   *
   * `info.signal` ends the wait: the promise rejects with `ConfirmAbortedError` (`Q_CONFIRM_ABORTED`)
   * at once, while the send goes on, so the batch may still be written (its outcome is unknown);
   * already aborted at the call, nothing is sent.
   */
  pushBatch(messages: readonly KafkaPusherMessage[], info?: PushInfo): Promise<void> {
    try {
      if (!Array.isArray(messages)) throw new InvalidOptionError('messages', messages, 'an array');
      const records: OutgoingMessage[] = [];
      for (let i = 0; i < messages.length; i++) {
        const out = this.#prepare(outgoing(messages[i] as KafkaPusherMessage, info), i);
        if (out instanceof Error) throw out;
        records.push(out.message);
      }
      if (records.length === 0) return Promise.resolve();
      const signal = info?.signal;
      // Both in one synchronous step: the flush puts what is buffered in the executor's queue, then
      // the batch (sized to fill a chunk on its own) goes in right behind it, alone in its chunk.
      if (!this.#executor.closed && !signal?.aborted) void this.#executor.flush();
      return this.#executor.addAndConfirm(new WholeBatch(records), Number.MAX_SAFE_INTEGER, { signal });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** kq's `PushWithKey`: same key, same partition. */
  pushWithKey(key: string | Buffer, value: string | Buffer): Promise<void> {
    return this.#add({ key, value }, this.#syncPush);
  }

  /** kq's `KPush` (which, unlike here, forgot the trace headers). */
  kPush(key: string | Buffer, value: string | Buffer): Promise<void> {
    return this.#add({ key, value }, this.#syncPush);
  }

  /** go-queue PR #94's `BatchPush`. */
  async batchPush(values: readonly (string | Buffer)[]): Promise<void> {
    await Promise.all(values.map((v) => this.#add({ key: nextKey(), value: v }, this.#syncPush)));
  }

  /**
   * Writes what is buffered now; resolves once the broker answered. `options.signal` ends the wait
   * (rejecting with `ConfirmAbortedError`), not the write.
   */
  flush(options: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      return this.#executor.flush({ signal: options.signal });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Flushes, waits for every write, disconnects. Writes waiting to reconnect get one last try without
   * back-off; what still cannot be written is rejected (or goes to `onError`), never dropped silently.
   *
   * With `timeoutMs`, writes still unanswered then are abandoned: the connections are destroyed, so
   * those writes fail (rejected, or `onError`) and may or may not have reached the broker.
   * @param options.timeoutMs @default none (`Infinity`): waits as long as the client's own timeouts and retries
   * @throws {InvalidOptionError} (rejects) when `timeoutMs` is not a number of milliseconds from 0 to 2^31-1, or `Infinity`.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : duration('timeoutMs', options.timeoutMs, 0, true);
    // Every chunk still gets a try (a first connect is always made); only the waits are cut.
    this.#connection.stopRetrying();
    const closing = (async () => {
      await this.#executor.close();
      await this.#connection.close();
    })();
    // Not a timer: Node would fire a timer of Infinity after 1 ms.
    if (timeoutMs === Number.POSITIVE_INFINITY) return closing;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), timeoutMs);
    });
    const outcome = await Promise.race([closing, expired]).finally(() => clearTimeout(timer));
    if (outcome !== 'expired') return;
    this.#logger.warn(
      { topic: this.#topic, timeoutMs },
      `closing the pusher of ${this.#topic} timed out: abandoning the writes under way`,
    );
    this.#abandoned.abort();
    this.#producer.destroy?.();
    // The writes under way and queued reject at once (WriteAbandonedError); kafkajs may go on
    // retrying the one it had sent, in the background, until its own retries run out (~1 min).
    await Promise.race([
      closing.catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 1000);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }
  /** Same as {@link KafkaPusher.close} without a timeout; for `await using pusher = ...`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #add(message: OutgoingMessage, confirm: boolean, signal?: AbortSignal): Promise<void> {
    // Every failure (closed, a bad signal, a throwing trace hook) rejects: callers chain .catch().
    try {
      return this.#enqueue(message, confirm, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #enqueue(message: OutgoingMessage, confirm: boolean, signal?: AbortSignal): Promise<void> {
    const prepared = this.#prepare(message);
    if (prepared instanceof Error) return Promise.reject(prepared);
    const { message: out, size } = prepared;
    if (confirm) return this.#executor.addAndConfirm(out, size, { signal });
    return this.#executor.add(out, size) ?? Promise.resolve();
  }

  /**
   * A message as it will be written: refused when its value is over `maxMessageBytes` (`index`: its
   * place in a batch, for the error), else with the trace headers added, and its size for chunking.
   */
  #prepare(message: OutgoingMessage, index?: number): { message: OutgoingMessage; size: number } | Error {
    const bytes = valueBytes(message.value);
    if (bytes > this.#maxMessageBytes) {
      if (index === undefined) return new MessageTooLargeError(bytes, this.#maxMessageBytes);
      const id = message.headers?.[OUTBOX_ID_HEADER];
      return new MessageTooLargeError(bytes, this.#maxMessageBytes, {
        index,
        id: id === undefined ? undefined : String(id),
      });
    }
    const traceparent = this.#traceparent?.();
    const traced = this.#traceHeaders?.();
    let out: OutgoingMessage = message;
    if (this.#ttlMs !== undefined) out = this.#stampExpiry(out, this.#ttlMs);
    if (traceparent !== undefined) out = { ...out, headers: { ...out.headers, traceparent } };
    if (traced !== undefined) out = { ...out, headers: { ...out.headers, ...traced } };
    const size = bytes + RECORD_OVERHEAD_BYTES + keyBytes(out.key) + (out.headers ? headerBytes(out.headers) : 0);
    return { message: out, size };
  }

  /** `message` with its `q-expires-at`: now + `ttlMs`, or the one it carries if that is earlier. */
  #stampExpiry(message: OutgoingMessage, ttlMs: number): OutgoingMessage {
    const now = Date.now();
    // A carried expiry that comes first is "expired" by the time this one would be: it stays.
    if (isExpired(message.headers?.[EXPIRES_AT_HEADER], now + ttlMs)) return message;
    return { ...message, headers: { ...message.headers, [EXPIRES_AT_HEADER]: expiresAt(ttlMs, now) } };
  }

  #warnAcks(acks: 0 | 1): void {
    this.#warnedAcks = true;
    this.#logger.warn(
      { topic: this.#topic, acks },
      acks === 0
        ? `pusher of ${this.#topic} has acks 0: a push confirms once sent, with no word from the broker; a broker failure loses messages silently`
        : `pusher of ${this.#topic} has acks 1: a push confirms once the leader wrote it; a leader failure before a follower copied it loses it`,
    );
  }
}

/**
 * Kafka has no per-topic message-count limit (RabbitMQ's `x-max-length` / `x-overflow`): a pusher
 * given one refuses it rather than let anyone believe a topic is bounded.
 */
function refuseMaxLength(options: KafkaPusherOptions): void {
  const given = options as { maxLength?: unknown; overflow?: unknown };
  for (const feature of ['maxLength', 'overflow'] as const) {
    if (given[feature] !== undefined) {
      throw new UnsupportedFeatureError(
        'kafka',
        feature,
        'Kafka topics have no message-count limit; use retention.bytes / retention.ms on the topic',
      );
    }
  }
}
