import { randomBytes } from 'node:crypto';
import {
  backoffDelay,
  ChunkExecutor,
  ConfirmAbortedError,
  type ConfirmingPusher,
  consoleLogger,
  InvalidOptionError,
  type Logger,
  type PushInfo,
  type RetryPolicy,
  sleep,
} from '@q/core';
import { abortable, duration, safeLogger, settledWithin } from '@q/core/internal';
import { AmqpConnection } from './connection.js';
import { AmqpConnectionClosedError, PublishTimeoutError, PusherClosedError } from './errors.js';
import { PusherChannel } from './pusher-channel.js';
import { type AmqpPusherMessage, type PushTask, prepare, type TaskOutcome } from './pusher-message.js';
import { type AmqpPusherOptions, type PusherConfig, pusherConfig } from './pusher-options.js';

/** What {@link AmqpPusher.stats} counts. */
export interface AmqpPusherStats {
  /** Publishes confirmed by the broker. */
  readonly confirmed: number;
  /** Pushes rejected as unroutable (returned). */
  readonly unroutable: number;
  /** Pushes nacked by the broker. */
  readonly rejected: number;
  /** Pushes whose outcome is unknown (channel lost or no confirm in time). */
  readonly unknown: number;
  /** Pushes never published (no channel in time, closed, or refused by the client). */
  readonly unsent: number;
  /** Publishes sent and not yet confirmed, now. */
  readonly outstanding: number;
}

/**
 * Back-off between failed attempts to open a channel on a connection that is up (the streak is the
 * pusher's, not a chunk's: a broker refusing channels is not asked again every few milliseconds).
 */
const REOPEN: RetryPolicy = { attempts: 1, minDelayMs: 50, maxDelayMs: 5_000, factor: 2, jitter: true };

/**
 * Publishes to a RabbitMQ exchange with publisher confirms: `pushAndConfirm` resolves once the
 * broker confirmed the message (for a persistent message on a durable queue: written to disk), and
 * rejects with `UnroutableError` when no queue received it (`mandatory`), `PublishRejectedError` on
 * a broker nack (a full `reject-publish` queue), `ConfirmUnknownError` when the channel was lost or
 * no confirm came within `confirmTimeoutMs` (never reported as confirmed; pushing it again is the
 * caller's call), `PublishTimeoutError` when it could not even be published in that time,
 * `AmqpConnectionClosedError` at once when the shared `connection` was closed (it never reconnects;
 * the push was not published). Failing to open a channel otherwise is retried with back-off (a
 * warning when the failure is new, not per attempt) until `confirmTimeoutMs`.
 * Messages are handed to the channel in chunks ({@link ChunkExecutor}), with up to `window`
 * publishes awaiting their confirms, and publishing waits for the channel's `drain`. As a Queue's
 * `deadLetter`, a pushed message gets a `q-death` record (reason `rejected`, or `info.reason`).
 *
 * ```ts
 * await using pusher = new AmqpPusher({ url, exchange: '', routingKey: 'jobs' });
 * await pusher.pushAndConfirm('hello');
 * ```
 */
export class AmqpPusher implements ConfirmingPusher<AmqpPusherMessage> {
  readonly #config: PusherConfig;
  readonly #connection: AmqpConnection;
  readonly #ownsConnection: boolean;
  readonly #channel: PusherChannel;
  readonly #executor: ChunkExecutor<PushTask>;
  readonly #logger: Logger;
  readonly #onError: ((error: unknown, message: AmqpPusherMessage) => void) | undefined;
  readonly #idPrefix = randomBytes(6).toString('base64url');
  readonly #name: string;
  readonly #counts = { confirmed: 0, unroutable: 0, rejected: 0, unknown: 0, unsent: 0 };
  #ids = 0;
  #closing: Promise<void> | undefined;
  /** Failed channel opens in a row, and the last one's message (a warning per new message). */
  #openFailures = 0;
  #openFailure: string | undefined;

  /** @throws {InvalidOptionError} naming the first bad option. */
  constructor(options: AmqpPusherOptions) {
    // Everything is checked before anything is opened: a constructor that throws leaves nothing
    // behind (an owned connection would reconnect for good, with nobody to close it).
    this.#config = pusherConfig(options);
    this.#logger = safeLogger(options.logger ?? consoleLogger);
    this.#onError = options.onError;
    const { exchange, routingKey } = this.#config;
    this.#name = `amqp/${exchange === '' ? '(default)' : exchange}/${routingKey ?? '*'}`;
    this.#executor = new ChunkExecutor<PushTask>((chunk) => this.#send(chunk), {
      chunkBytes: this.#config.chunkBytes,
      flushIntervalMs: this.#config.flushIntervalMs,
      onError: (error, chunk) => {
        // #send settles every task itself; this is for a bug in it.
        for (const task of chunk) task.abandon(error instanceof Error ? error : new Error(String(error)));
      },
      ...(options.shutdown === undefined ? {} : { shutdown: options.shutdown }),
      logger: this.#logger,
    });
    this.#ownsConnection = options.connection === undefined;
    let owned: AmqpConnection | undefined;
    try {
      owned = this.#ownsConnection
        ? new AmqpConnection({ url: options.url as string, logger: this.#logger })
        : undefined;
      this.#connection = owned ?? (options.connection as AmqpConnection);
      this.#channel = new PusherChannel(
        this.#connection,
        exchange,
        {
          window: this.#config.window,
          confirmTimeoutMs: this.#config.confirmTimeoutMs,
          nackReason: this.#config.nackReason,
          logger: this.#logger,
        },
        options.topology,
      );
    } catch (error) {
      void this.#executor.close().catch(() => {});
      void owned?.close({ timeoutMs: 0 }).catch(() => {});
      throw error;
    }
  }

  /** `amqp/<exchange>/<routingKey>` (`*` with `routingKeyOf`). */
  name(): string {
    return this.#name;
  }

  /**
   * Hands `message` to the next chunk; resolves at once, or, when it completed a chunk, once that
   * chunk was accepted (awaiting it is back-pressure). Its outcome goes to `onError` (or the log)
   * when it fails; use {@link AmqpPusher.pushAndConfirm} to wait for it.
   */
  push(message: AmqpPusherMessage, info?: PushInfo): Promise<void> {
    try {
      const task = prepare(message, info, this.#config, this.#nextId, this.#reporting(message));
      return this.#executor.add(task, task.bytes) ?? ACCEPTED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Resolves once the broker confirmed `message`; rejects with `UnroutableError`,
   * `PublishRejectedError`, `ConfirmUnknownError`, `PublishTimeoutError` or
   * `AmqpConnectionClosedError` (see the class).
   * `info.signal` ends the wait (`ConfirmAbortedError`); the message may still be published.
   */
  pushAndConfirm(message: AmqpPusherMessage, info?: PushInfo): Promise<void> {
    try {
      const signal = info?.signal;
      if (signal?.aborted) return Promise.reject(new ConfirmAbortedError(signal.reason));
      const { promise, outcome } = this.#awaited();
      const task = prepare(message, info, this.#config, this.#nextId, outcome);
      void this.#executor.add(task, task.bytes);
      if (signal === undefined) return promise;
      return abortable(promise, signal, () => {
        throw new ConfirmAbortedError(signal.reason);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Publishes `messages` one after another on one channel (nothing else between them) and resolves
   * once the broker confirmed all; rejects with the first failure, and then any of them may be
   * stored (each has its own confirm): push the batch again with the same message ids. Every
   * message is checked before any is handed over. `info.signal` ends the wait, as for
   * `pushAndConfirm`. An empty batch resolves at once.
   */
  pushBatch(messages: readonly AmqpPusherMessage[], info?: PushInfo): Promise<void> {
    try {
      if (!Array.isArray(messages)) throw new InvalidOptionError('messages', messages, 'an array of messages');
      const signal = info?.signal;
      if (signal?.aborted) return Promise.reject(new ConfirmAbortedError(signal.reason));
      if (messages.length === 0) return ACCEPTED;
      const confirms: Promise<void>[] = [];
      const tasks: PushTask[] = [];
      for (const message of messages) {
        const { promise, outcome } = this.#awaited();
        confirms.push(promise);
        tasks.push(prepare(message, info, this.#config, this.#nextId, outcome));
      }
      // Adds in one synchronous run: they sit next to each other in the executor, in order.
      for (const task of tasks) void this.#executor.add(task, task.bytes);
      void this.#executor.flush();
      const all = Promise.all(confirms).then(() => {});
      if (signal === undefined) return all;
      return abortable(all, signal, () => {
        throw new ConfirmAbortedError(signal.reason);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Hands what is buffered to the channel now; resolves once it was published (not confirmed). */
  flush(): Promise<boolean> {
    try {
      return this.#executor.flush();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Counts since construction, and the publishes outstanding now. */
  stats(): AmqpPusherStats {
    return { ...this.#counts, outstanding: this.#channel.tracker?.outstanding ?? 0 };
  }

  /**
   * Publishes what is buffered, waits for the outstanding confirms, closes the channel and, when
   * the pusher opened it (`url`), the connection. Past `timeoutMs`, whatever is unconfirmed rejects
   * with `ConfirmUnknownError` and what was not published with `PusherClosedError`.
   * @param options.timeoutMs @default 10000
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    let timeoutMs: number;
    try {
      timeoutMs = duration('timeoutMs', options.timeoutMs ?? 10_000, 0);
    } catch (error) {
      return Promise.reject(error);
    }
    const deadline = performance.now() + timeoutMs;
    this.#closing = (async () => {
      const flushed = await settledWithin(this.#executor.close(), timeoutMs);
      await this.#channel.close(deadline);
      if (!flushed) await settledWithin(this.#executor.close(), 1000);
      if (this.#ownsConnection) await this.#connection.close({ timeoutMs: Math.max(0, deadline - performance.now()) });
    })();
    return this.#closing;
  }

  /** {@link AmqpPusher.close} with its default deadline, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  readonly #nextId = (): string => `${this.#idPrefix}-${++this.#ids}`;

  /** The outcome of a fire-and-forget push: counted, and a failure reported. */
  #reporting(message: AmqpPusherMessage): TaskOutcome {
    return {
      resolve: () => {
        this.#counts.confirmed += 1;
      },
      reject: (error) => {
        this.#count(error);
        if (this.#onError === undefined) {
          this.#logger.error({ err: error, pusher: this.#name }, 'an AMQP push failed');
          return;
        }
        try {
          this.#onError(error, message);
        } catch (thrown) {
          this.#logger.error({ err: thrown }, 'the AMQP pusher onError threw');
        }
      },
    };
  }

  /** A promise settled by a task's outcome, counted. */
  #awaited(): { promise: Promise<void>; outcome: TaskOutcome } {
    let outcome!: TaskOutcome;
    const promise = new Promise<void>((resolve, reject) => {
      outcome = {
        resolve: () => {
          this.#counts.confirmed += 1;
          resolve();
        },
        reject: (error) => {
          this.#count(error);
          reject(error);
        },
      };
    });
    return { promise, outcome };
  }

  #count(error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'Q_UNROUTABLE') this.#counts.unroutable += 1;
    else if (code === 'Q_PUBLISH_REJECTED') this.#counts.rejected += 1;
    else if (code === 'Q_CONFIRM_UNKNOWN') this.#counts.unknown += 1;
    else this.#counts.unsent += 1;
  }

  /** Counts a failed channel open: a warning when the failure is new, else a debug line. */
  #openFailed(error: unknown): void {
    this.#openFailures += 1;
    const message = error instanceof Error ? error.message : String(error);
    const log = { err: error, pusher: this.#name, failures: this.#openFailures };
    if (message === this.#openFailure) {
      this.#logger.debug(log, 'opening an AMQP confirm channel failed again; retrying');
      return;
    }
    this.#openFailure = message;
    this.#logger.warn(log, 'opening an AMQP confirm channel failed; retrying with back-off');
  }

  /**
   * Publishes a chunk in order: waits for an open channel and for room in the window, reopens the
   * channel when it closes under the chunk; tasks not published within `confirmTimeoutMs` of the
   * chunk's start are given up. Settles every task that is not published; never throws.
   */
  async #send(chunk: PushTask[]): Promise<void> {
    const { confirmTimeoutMs, exchange } = this.#config;
    const deadline = performance.now() + confirmTimeoutMs;
    let i = 0;
    while (i < chunk.length) {
      const first = chunk[i] as PushTask;
      let tracker: Awaited<ReturnType<PusherChannel['open']>>;
      try {
        tracker = await this.#channel.open(deadline, first.destination, confirmTimeoutMs);
      } catch (error) {
        if (isFinal(error)) {
          for (; i < chunk.length; i++) (chunk[i] as PushTask).abandon(error as Error);
          return;
        }
        this.#openFailed(error);
        await sleep(Math.max(0, Math.min(deadline - performance.now(), backoffDelay(REOPEN, this.#openFailures))));
        continue;
      }
      if (this.#openFailures > 0) {
        this.#logger.info({ pusher: this.#name, failures: this.#openFailures }, 'AMQP confirm channel open again');
        this.#openFailures = 0;
        this.#openFailure = undefined;
      }
      for (; i < chunk.length; i++) {
        const task = chunk[i] as PushTask;
        if (task.settled) continue;
        let room = tracker.room(deadline);
        if (room !== 'ready') room = await room;
        if (room === 'closed') break;
        if (room === 'timeout') {
          for (; i < chunk.length; i++) {
            const late = chunk[i] as PushTask;
            late.abandon(new PublishTimeoutError(late.destination, confirmTimeoutMs));
          }
          return;
        }
        if (tracker.publish(task, exchange, task.routingKey, task.body, task.options) === 'closed') break;
      }
    }
  }
}

const ACCEPTED: Promise<void> = Promise.resolve();

/**
 * An open failure no retry can mend: out of time, the pusher closed, the exchange missing, or the
 * shared connection closed by its owner (it never reconnects; the push was not sent).
 */
function isFinal(error: unknown): boolean {
  return (
    error instanceof PublishTimeoutError ||
    error instanceof PusherClosedError ||
    error instanceof AmqpConnectionClosedError ||
    isUnroutable(error)
  );
}

function isUnroutable(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'Q_UNROUTABLE';
}
