import { InvalidOptionError, type Queue, type QueueStats } from '@q/core';
import { duration } from '@q/core/internal';
import type { TopicPartition } from './client.js';
import { KafkaPusher } from './kafka-pusher.js';
import {
  type KafkaHandler,
  type KafkaQueueConfig,
  type ResolvedKafkaQueueConfig,
  resolveKafkaQueueConfig,
} from './kafka-queue-config.js';
import { FINAL_MS, Member } from './member.js';
import type { TrackedMessage } from './offset-tracker.js';

export type { KafkaHandler, KafkaQueueConfig, Ordering } from './kafka-queue-config.js';

/**
 * go-queue's kq, done right: a consumer group whose messages run through a {@link Queue} (retries,
 * dead letter, timeouts, ordering by partition or key) and whose commits never pass a message that is
 * not settled.
 *
 * ```ts
 * const queue = new KafkaQueue({ brokers, group: 'billing', topic: 'orders', ordering: 'key' }, async (m) => bill(m));
 * const done = queue.start();
 * // ...
 * await queue.stop();
 * ```
 *
 * With `signal`, aborting it stops the queue as `stop()` does (an `AbortController` tied to the
 * process's shutdown, a test's timeout).
 */
export class KafkaQueue {
  readonly #o: ResolvedKafkaQueueConfig;
  readonly #members: Member[] = [];
  #started: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  /** The stop's deadline (a `Date.now()` time): the earliest any stop() asked for. */
  #deadline = Number.POSITIVE_INFINITY;
  /** Whether #stopping stops the members (not so when the signal was aborted before start()). */
  #membersStopping = false;
  /** Removes the `signal` listener; set while it is registered. */
  #unlisten: (() => void) | undefined;

  /** @throws {InvalidOptionError} for missing brokers, group or topic, or bad numbers or modes. */
  constructor(config: KafkaQueueConfig, handler: KafkaHandler) {
    this.#o = resolveKafkaQueueConfig(config);
    if (typeof handler !== 'function' && (handler === null || typeof handler?.consume !== 'function')) {
      throw new InvalidOptionError('handler', handler, 'a function or an object with consume()');
    }
    for (let i = 0; i < this.#o.conns; i++) this.#members.push(new Member(this.#o, handler));
  }

  /**
   * Joins the group and runs until `stop()` or the `signal` aborts; resolves when everything has
   * drained and committed. With a `signal` already aborted, or after `stop()`, it resolves (once that
   * stop did) without connecting: the queue is stopped (see {@link KafkaQueueConfig.signal}).
   *
   * It rejects when a member cannot join (the broker refuses the topic or the group, for good): what
   * was started is stopped first, as `stop()` does, so nothing runs on (the queue is stopped).
   */
  start(): Promise<void> {
    this.#started ??= this.#run();
    return this.#started;
  }

  async #run(): Promise<void> {
    const signal = this.#o.signal;
    // Nothing was started, so nothing is left to drain: only the dead-letter pusher made here.
    if (signal?.aborted && this.#stopping === undefined) {
      this.#deadline = Date.now() + this.#o.stopTimeoutMs;
      this.#stopping = this.#closeOwnDeadLetter();
    }
    // Stopped (or aborted) before it started: joining now would leave a member nobody stops.
    if (this.#stopping !== undefined) return this.#stopping;
    if (signal !== undefined) {
      // A stop that fails rejects start() too (it awaits #stopping); this copy must not go unhandled.
      const onAbort = (): void => void this.stop().catch(() => {});
      signal.addEventListener('abort', onAbort, { once: true });
      this.#unlisten = () => signal.removeEventListener('abort', onAbort);
    }
    try {
      const running = this.#members.map((m) => m.queue.start());
      try {
        await Promise.all(this.#members.map((m) => m.start()));
      } catch (error) {
        // A member that could not join (its subscribe refused, ...) fails start(): what it and the
        // others started (queues, commit timers, clients, a member that joined and fetches) must not
        // run on unseen until a stop() that a caller of a failed start() has no reason to make.
        // A stop already under way keeps its own deadline (an `Infinity` one is not cut short).
        await (this.#stopping ?? this.stop()).catch(() => {});
        throw error;
      }
      await Promise.all(running);
      // The member queues end inside stop(), before its final commit and leave: "drained and
      // committed" means stop() finished too (what a caller who only aborts the signal awaits).
      await this.#stopping;
    } finally {
      this.#unlisten?.();
    }
  }

  /**
   * Stops fetching, drains and commits what was settled, leaves the group, and closes the dead-letter
   * pusher it made for `deadLetter: '<topic>'` (a pusher passed in is the caller's to close). A second
   * call returns the same promise; a shorter `timeoutMs` then applies to the stop under way.
   *
   * Handlers get `timeoutMs` to drain; what is still running then is nacked (and redone by the next
   * owner). The final commit, the LeaveGroup and the dead-letter close get what is left of it, but at
   * least 1 s each; a broker that does not answer by then is given up on: connections are destroyed,
   * dead-letter writes under way are abandoned (their messages were not committed past, so they are
   * read again), and the promise resolves. So it resolves within about `timeoutMs` + 2 s.
   *
   * An abort of the config's `signal` calls it with the defaults.
   * @param options.timeoutMs `Infinity` waits for every step. @default the config's `stopTimeoutMs` (30000)
   * @throws {InvalidOptionError} when `timeoutMs` is not a number of milliseconds from 0 to 2^31-1, or `Infinity`.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    // Checked here: a bad value met inside the members' stops would leave them half stopped.
    const deadline = Date.now() + duration('timeoutMs', options.timeoutMs ?? this.#o.stopTimeoutMs, 0, true);
    // Stopping for any reason: a later abort has nothing left to do.
    this.#unlisten?.();
    this.#deadline = Math.min(this.#deadline, deadline);
    if (this.#stopping === undefined) {
      this.#membersStopping = true;
      this.#stopping = (async () => {
        await Promise.all(this.#members.map((m) => m.stop(deadline)));
        await this.#closeOwnDeadLetter();
      })();
    } else if (this.#membersStopping) {
      // Same promises as the first call's: a member stop under way only takes the earlier deadline.
      for (const m of this.#members) void m.stop(deadline);
    }
    return this.#stopping;
  }

  /** Closes the dead-letter pusher made here, by the stop's deadline (but with at least FINAL_MS). */
  async #closeOwnDeadLetter(): Promise<void> {
    if (this.#o.ownsDeadLetter && this.#o.deadLetter instanceof KafkaPusher) {
      await this.#o.deadLetter.close({ timeoutMs: Math.max(FINAL_MS, this.#deadline - Date.now()) });
    }
  }

  /** Same as {@link stop} with its defaults. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** The queues' stats, one per member. */
  stats(): QueueStats[] {
    return this.#members.map((m) => m.queue.stats());
  }

  /**
   * Messages fetched and not settled yet, over all members: kept near `highWaterMark` at most by
   * pausing fetches (plus what fetches already under way deliver).
   */
  unsettled(): number {
    let n = 0;
    for (const m of this.#members) n += m.unsettled;
    return n;
  }

  /**
   * Messages the `dedupe: 'outbox-id'` option dropped as replays, over all members, since the queue
   * was made: each was settled as consumed (and committed past) without reaching the handler. 0
   * without the option.
   */
  duplicatesDropped(): number {
    let n = 0;
    for (const m of this.#members) n += m.duplicatesDropped;
    return n;
  }

  /**
   * Records whose `q-expires-at` had passed when they were fetched, over all members, since the queue
   * was made; none of them reached the handler. `deadLettered`: written to the dead-letter
   * destination with a `q-death` record of reason `expired` (and then committed past; they also
   * count as `consumed` in {@link stats}, the Queue having settled them). `skipped`: without a
   * dead-letter destination, settled at once and committed past (logged once per fetched batch).
   */
  expired(): {
    /** Expired records pushed to the dead-letter destination. */
    deadLettered: number;
    /** Expired records skipped (no dead-letter destination). */
    skipped: number;
  } {
    let deadLettered = 0;
    let skipped = 0;
    for (const m of this.#members) {
      deadLettered += m.expired.deadLettered;
      skipped += m.expired.skipped;
    }
    return { deadLettered, skipped };
  }

  /** Committed offsets per partition, per member. */
  committed(): (TopicPartition & {
    /** The committed offset (the next one to read); undefined before the first commit. */
    offset: bigint | undefined;
  })[] {
    return this.#members.flatMap((m) => m.committed());
  }

  /** The Queue of each member, for events (`error`, `dead-letter`, `stats`, ...). */
  get queues(): Queue<TrackedMessage>[] {
    return this.#members.map((m) => m.queue);
  }
}
