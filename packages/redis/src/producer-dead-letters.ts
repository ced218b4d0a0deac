import { setMaxListeners } from 'node:events';
import {
  backoffDelay,
  causeText,
  type DeathReason,
  LessExecutor,
  type Logger,
  type Pusher,
  pushConfirmed,
  retryPolicy,
  sleep,
} from '@q/core';
import { abortable, settledWithin } from '@q/core/internal';
import { withDeath } from './death.js';
import { isExpiredBody } from './expiry.js';
import type { ProducerCounters } from './producer-options.js';

/** A failed dead-letter push is tried again after 100 ms, doubling up to 5 s. */
const RETRY = retryPolicy({ minDelayMs: 100, maxDelayMs: 5000 });

/** How a producer's messages leave it when they are not handed to the queue. */
export interface DeadLetterSource<M> {
  /** The body of `message` as it was taken from the list. */
  body(message: M): string | Buffer;
  /**
   * `message` is done: `pushed` when the dead-letter pusher confirmed it, or it was dropped (remove it
   * from the source); not `pushed` when the producer closed first (give it back to the list).
   */
  done(message: M, pushed: boolean): void;
}

/** What {@link ProducerDeadLetters} needs to know. */
export interface ProducerDeadLettersOptions {
  readonly pusher: Pusher<string | Buffer> | undefined;
  /** The list: the queue named in the records. */
  readonly list: string;
  readonly logger: Logger;
  readonly counters: ProducerCounters;
  /** Most messages being dead-lettered at once; the producer waits for room before it takes more. */
  readonly limit: number;
}

/**
 * The messages a producer keeps from the queue (expired ones, those over `maxDeliveries`): each is
 * pushed to the dead-letter pusher with a `q-death` record, retried with back-off while the producer
 * runs, and told `done` once confirmed; without a pusher, expired ones are dropped (counted, and one
 * warning per batch). close() stops the retries and gives back what was not confirmed.
 */
export class ProducerDeadLetters<M> {
  readonly #o: ProducerDeadLettersOptions;
  readonly #source: DeadLetterSource<M>;
  /** Aborted by close(): no more tries, and back-off sleeps end. */
  readonly #closing = new AbortController();
  /** Aborted once close() stopped waiting: a confirm under way is given up. */
  readonly #abandon = new AbortController();
  readonly #pending = new Set<Promise<void>>();
  readonly #throttle = new LessExecutor(1000);

  constructor(o: ProducerDeadLettersOptions, source: DeadLetterSource<M>) {
    this.#o = o;
    this.#source = source;
    // Every message waiting for its dead-letter push listens to these two (up to four batches at
    // once while the destination is down): many listeners are the design, not a leak.
    setMaxListeners(0, this.#closing.signal, this.#abandon.signal);
  }

  /**
   * Keeps the expired messages of `messages` from the queue and dead-letters them; returns the others,
   * in order (the same array when none expired).
   */
  live(messages: M[]): M[] {
    const now = Date.now();
    let expired: M[] | undefined;
    let live: M[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as M;
      if (isExpiredBody(this.#source.body(m), now)) {
        if (expired === undefined) {
          expired = [];
          live = messages.slice(0, i);
        }
        expired.push(m);
      } else {
        live?.push(m);
      }
    }
    if (expired === undefined) return messages;
    this.#o.counters.expired += expired.length;
    if (this.#o.pusher === undefined) {
      this.#o.counters.dropped += expired.length;
      this.#o.logger.warn(
        { list: this.#o.list, messages: expired.length },
        `dropped ${expired.length} expired messages of ${this.#o.list} (their q-expires-at passed; no deadLetter is set)`,
      );
      for (const m of expired) this.#source.done(m, true);
    } else {
      this.add(expired, 'expired');
    }
    return live ?? [];
  }

  /** Dead-letters `messages` for `reason` (needs a pusher). */
  add(messages: M[], reason: DeathReason): void {
    for (const m of messages) {
      const delivery = this.#deliver(m, reason).catch(() => {});
      this.#pending.add(delivery);
      void delivery.then(() => this.#pending.delete(delivery));
    }
  }

  /** Resolves once fewer than `limit` messages are being dead-lettered, or `signal` aborted. */
  async room(signal: AbortSignal): Promise<void> {
    while (this.#pending.size >= this.#o.limit && !signal.aborted) {
      await abortable(Promise.race(this.#pending), signal, () => undefined);
    }
  }

  /**
   * Stops retrying and waits at most `ms` for the pushes under way, so a confirm that comes is
   * counted (a message given back while its push still lands would be dead-lettered twice); then
   * gives up on the rest. Messages not confirmed are given back.
   */
  async close(ms: number): Promise<boolean> {
    this.#closing.abort();
    const all = Promise.all([...this.#pending]);
    if (await settledWithin(all, ms)) return true;
    this.#abandon.abort();
    return settledWithin(all, 100);
  }

  async #deliver(m: M, reason: DeathReason): Promise<void> {
    const pusher = this.#o.pusher as Pusher<string | Buffer>;
    const closing = this.#closing.signal;
    const signal = this.#abandon.signal;
    const body = withDeath(this.#source.body(m), { reason, queue: this.#o.list });
    for (let failures = 1; !closing.aborted; failures++) {
      try {
        await pushConfirmed(pusher, body, { signal });
        this.#o.counters.deadLettered++;
        this.#source.done(m, true);
        return;
      } catch (error) {
        if (closing.aborted) break;
        this.#throttle.doOrDiscard(() =>
          this.#o.logger.error(
            { list: this.#o.list, err: causeText(error) },
            `dead-lettering a message of ${this.#o.list} (${reason}) failed; retrying`,
          ),
        );
      }
      await sleep(backoffDelay(RETRY, failures), closing);
    }
    this.#source.done(m, false);
  }
}
