import { randomBytes } from 'node:crypto';
import { type Outcome, type ProduceListener, type Producer, sleep } from '@q/core';
import { abortable, settledWithin } from '@q/core/internal';
import { BlockingConnection } from './blocking-connection.js';
import { watchConnection } from './connection-watch.js';
import { ProducerDeadLetters } from './producer-dead-letters.js';
import type { ResolvedOptions } from './producer-options.js';
import { ReaderRegistration } from './reader-registration.js';
import { SourceHealth } from './source-health.js';
import { withoutBodies } from './without-bodies.js';

/** Batches taken in one produce() call when every message of each had expired. */
const ROUNDS = 16;

type Body = string | Buffer;

/**
 * go-zero rq's producer, batched: `LPOP key n` while there is data, `BLMPOP` while there is none.
 *
 * A graceful stop never drops what was popped: a pop answered after the queue stopped, and what the
 * queue hands back unconsumed, go back to the head of the list (`LPUSH`), and close() waits for those
 * writes, so `await queue.stop(); await redis.quit()` cannot cut them off. A write that fails is
 * logged (count only) and fails close(): those messages are lost, and the caller hears of it.
 *
 * Expired messages (`q-expires-at` passed) are popped like the others, so they have left the list when
 * they are found; they never reach the queue. With `deadLetter` each is pushed there (retried while
 * the producer runs; at close, one not yet confirmed goes back to the head of the list like any
 * unconsumed message; a crash in between loses it, as it loses any popped message). Without, it is
 * dropped and counted.
 */
export class AtMostOnceProducer implements Producer<Body> {
  /** This producer's id in the list's readers set. */
  readonly id = randomBytes(6).toString('hex');
  readonly #o: ResolvedOptions;
  readonly #blocking: BlockingConnection;
  readonly #health: SourceHealth;
  readonly #unwatch: () => void;
  readonly #dead: ProducerDeadLetters<Body>;
  readonly #registration: ReaderRegistration;
  /** Give-backs not yet answered: close() waits for them. */
  readonly #givingBack = new Set<Promise<void>>();
  /** Give-backs that failed, for close() to report. */
  readonly #failed: unknown[] = [];
  /** The produce() in progress: close() lets it finish before the blocking connection goes. */
  #producing: Promise<unknown> | undefined;
  #closing = false;

  constructor(o: ResolvedOptions) {
    this.#o = o;
    this.#blocking = new BlockingConnection(o.redis);
    this.#health = new SourceHealth(o.logger, `reading ${o.keys.list}`);
    this.#unwatch = watchConnection(o.redis, this.#health, this.#blocking.connection);
    this.#dead = new ProducerDeadLetters<Body>(
      { pusher: o.deadLetter, list: o.keys.list, logger: o.logger, counters: o.counters, limit: o.batchSize * 4 },
      {
        body: (m) => m,
        done: (m, pushed) => {
          if (!pushed) this.#track(this.#giveBack([m])).catch(() => {});
        },
      },
    );
    this.#registration = new ReaderRegistration(o.redis, o.keys.readers, this.id, o.leaseMs, this.#health);
  }

  /** Registers the producer as a reader of the list (for `mandatory` pushers); rejects when Redis did not take it. */
  register(): Promise<void> {
    return this.#registration.register();
  }

  addListener(listener: ProduceListener): void {
    this.#health.listener = listener;
  }

  produce(signal: AbortSignal): Promise<Body[] | undefined> {
    const producing = this.#produce(signal);
    this.#producing = producing;
    return producing;
  }

  async #produce(signal: AbortSignal): Promise<Body[] | undefined> {
    const { redis, keys, batchSize, blockTimeoutMs, buffers } = this.#o;
    try {
      for (let round = 0; ; round++) {
        await this.#dead.room(signal);
        if (signal.aborted) return undefined;
        const pop = (buffers ? redis.lpopBuffer(keys.list, batchSize) : redis.lpop(keys.list, batchSize)) as Promise<
          Body[] | null
        >;
        const popped = await abortable(pop, signal, () => undefined);
        if (popped === undefined) {
          // Stopped while the pop was in flight: whatever it still brings goes back to the head.
          this.#track(pop.then((late) => this.#giveBack(late)));
          return undefined;
        }
        this.#health.ok();
        if (popped === null || popped.length === 0) break;
        const live = this.#dead.live(popped);
        if (live.length > 0) return live;
        // All expired: take the next batch now rather than after a wait on a list that has more.
        if (round === ROUNDS || signal.aborted || this.#closing) return undefined;
      }
      if (signal.aborted || this.#closing) return undefined;
      const args = [blockTimeoutMs / 1000, 1, keys.list, 'LEFT', 'COUNT', batchSize] as const;
      const reply = (await this.#blocking.run((c) =>
        buffers ? c.callBuffer('BLMPOP', ...args) : c.call('BLMPOP', ...args),
      )) as [unknown, Body[]] | null;
      this.#health.ok();
      if (reply === null) return undefined;
      if (this.#closing) {
        // Ended by close() after it took something: nobody will consume it, so it goes back.
        this.#track(this.#giveBack(reply[1]));
        return undefined;
      }
      const live = this.#dead.live(reply[1]);
      return live.length > 0 ? live : undefined;
    } catch (error) {
      if (!signal.aborted) await sleep(this.#health.failed(error), signal);
      return undefined;
    }
  }

  /**
   * At-most-once cannot take a message back from the handler, but what the queue hands back unconsumed
   * at stop goes back to the head of the list.
   */
  settle(message: Body, outcome: Outcome): Promise<void> | undefined {
    if (outcome.type !== 'nacked') return undefined;
    return this.#track(this.#giveBack([message]));
  }

  /**
   * Ends a `BLMPOP` still waiting (`CLIENT UNBLOCK`: disconnecting instead would drop a reply that
   * already popped messages), lets the produce() in progress finish, waits for every give-back, then
   * closes the blocking connection. Expired messages whose dead-letter push was not confirmed yet go
   * back too; the producer leaves the readers set.
   * @throws the first give-back error, after every give-back settled.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#unwatch();
    const limit = this.#o.blockTimeoutMs + 1000;
    // Bounded: with Redis down the entry simply expires.
    const unregistered = settledWithin(
      this.#registration.stop().catch(() => {}),
      limit,
    );
    try {
      await this.#blocking.interrupt(limit);
      await settledWithin(this.#producing, limit);
    } finally {
      // Nothing more goes through it; closing it before the give-backs means that with Redis down no
      // connection of ours keeps reconnecting after close().
      this.#blocking.disconnect();
    }
    // Their give-backs join the others below.
    await this.#dead.close(limit);
    await unregistered;
    // Give-backs go through the caller's client: waited for (bounded: with Redis down they sit in
    // ioredis's offline queue), so that `await queue.stop(); await redis.quit()` cannot cut them off.
    const deadline = Date.now() + limit;
    while (this.#givingBack.size > 0 && Date.now() < deadline) {
      await settledWithin(Promise.allSettled([...this.#givingBack]), deadline - Date.now());
    }
    if (this.#givingBack.size > 0) {
      this.#o.logger.error(
        { list: this.#o.keys.list, batches: this.#givingBack.size },
        `closing a reader of ${this.#o.keys.list}: Redis did not take back popped messages in time`,
      );
    }
    if (this.#failed.length > 0) throw this.#failed[0];
  }

  /** Keeps `giveBack` until it settles; a failure is logged and kept for close(). */
  #track(giveBack: Promise<void>): Promise<void> {
    const tracked = giveBack.catch((error: unknown) => {
      this.#failed.push(error);
      throw error;
    });
    const settled = tracked.catch(() => {});
    this.#givingBack.add(settled);
    void settled.then(() => this.#givingBack.delete(settled));
    return tracked;
  }

  async #giveBack(messages: Body[] | null): Promise<void> {
    if (messages === null || messages.length === 0) return;
    try {
      await this.#o.redis.lpush(this.#o.keys.list, ...[...messages].reverse());
    } catch (error) {
      this.#o.logger.error(
        {
          list: this.#o.keys.list,
          messages: messages.length,
          err: error instanceof Error ? error.message : String(error),
        },
        `giving ${messages.length} messages back to ${this.#o.keys.list} failed: they are lost`,
      );
      // Reported again by the queue (settle, close): without the LPUSH's arguments, the bodies.
      throw withoutBodies(error);
    }
  }
}
