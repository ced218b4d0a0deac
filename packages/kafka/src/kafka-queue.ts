import { InvalidOptionError, type Queue, type QueueStats } from '@q/core';
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

/** The Queue's own default stop timeout. */
const DEFAULT_STOP_TIMEOUT_MS = 30_000;

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
 */
export class KafkaQueue {
  readonly #o: ResolvedKafkaQueueConfig;
  readonly #members: Member[] = [];
  #started: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  /** @throws {InvalidOptionError} for missing brokers, group or topic, or bad numbers or modes. */
  constructor(config: KafkaQueueConfig, handler: KafkaHandler) {
    this.#o = resolveKafkaQueueConfig(config);
    if (typeof handler !== 'function' && (handler === null || typeof handler?.consume !== 'function')) {
      throw new InvalidOptionError('handler', handler, 'a function or an object with consume()');
    }
    for (let i = 0; i < this.#o.conns; i++) this.#members.push(new Member(this.#o, handler));
  }

  /** Joins the group and runs until `stop()`; resolves when everything has drained and committed. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      const running = this.#members.map((m) => m.queue.start());
      await Promise.all(this.#members.map((m) => m.start()));
      await Promise.all(running);
    })();
    return this.#started;
  }

  /**
   * Stops fetching, drains and commits what was settled, leaves the group, and closes the dead-letter
   * pusher it made for `deadLetter: '<topic>'` (a pusher passed in is the caller's to close). A second
   * call is harmless.
   *
   * Handlers get `timeoutMs` to drain; what is still running then is nacked (and redone by the next
   * owner). The final commit, the LeaveGroup and the dead-letter close get what is left of it, but at
   * least 1 s each; a broker that does not answer by then is given up on: connections are destroyed,
   * dead-letter writes under way are abandoned (their messages were not committed past, so they are
   * read again), and the promise resolves. So it resolves within about `timeoutMs` + 2 s.
   * @param options.timeoutMs @default 30000 (the Queue's `stopTimeoutMs`)
   */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    this.#stopping ??= (async () => {
      await Promise.all(this.#members.map((m) => m.stop(deadline)));
      if (this.#o.ownsDeadLetter && this.#o.deadLetter instanceof KafkaPusher) {
        await this.#o.deadLetter.close({ timeoutMs: Math.max(FINAL_MS, deadline - Date.now()) });
      }
    })();
    return this.#stopping;
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

  /** Committed offsets per partition, per member. */
  committed(): (TopicPartition & { offset: bigint | undefined })[] {
    return this.#members.flatMap((m) => m.committed());
  }

  /** The Queue of each member, for events (`error`, `dead-letter`, `stats`, ...). */
  get queues(): Queue<TrackedMessage>[] {
    return this.#members.map((m) => m.queue);
  }
}
