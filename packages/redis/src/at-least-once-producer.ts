import { randomBytes } from 'node:crypto';
import { CONSUMED, type Outcome, type ProduceListener, type Producer, sleep } from '@q/core';
import { abortable, settledWithin } from '@q/core/internal';
import type { Cluster, Redis } from 'ioredis';
import { BlockingConnection } from './blocking-connection.js';
import { type Claimed, Claims } from './claims.js';
import { watchConnection } from './connection-watch.js';
import { type ConsumerKeys, consumerKeys } from './keys.js';
import { Lease } from './lease.js';
import { ProducerDeadLetters } from './producer-dead-letters.js';
import type { RedisMessage, ResolvedOptions } from './producer-options.js';
import { ReaderRegistration } from './reader-registration.js';
import { recover } from './recovery.js';
import { type ScriptedRedis, withScripts } from './scripts.js';
import { Settlements } from './settlements.js';
import { SourceHealth } from './source-health.js';

const ABORTED: unique symbol = Symbol('q.aborted');
/** A dead letter not confirmed by close() goes back uncounted, as a message the queue never ran. */
const GIVE_BACK: Outcome = Object.freeze({ type: 'nacked', reason: 'stopped' });
/** Claims in one produce() call when every message of each was expired or over the limit. */
const ROUNDS = 16;

type Message = RedisMessage<string | Buffer>;

/**
 * At-least-once: a claim script moves messages into this consumer's in-flight hash ({@link Claims});
 * settling removes them or hands them back, in batches ({@link Settlements}); a heartbeat keeps the
 * consumer's lease alive and recovers consumers whose lease expired ({@link Lease}).
 *
 * Expired messages and, with a `deadLetter`, those over `maxDeliveries` are claimed like the others but
 * kept from the queue ({@link ProducerDeadLetters}): each stays in the in-flight record until its
 * dead-letter push was confirmed (or, expired without a `deadLetter`, is dropped), and goes back
 * uncounted if close() comes first.
 */
export class AtLeastOnceProducer implements Producer<RedisMessage<string | Buffer>> {
  /** This consumer's id: random per producer, it names its keys. */
  readonly id = randomBytes(6).toString('hex');
  readonly #o: ResolvedOptions;
  readonly #redis: (Redis | Cluster) & ScriptedRedis;
  readonly #own: ConsumerKeys;
  readonly #blocking: BlockingConnection;
  readonly #health: SourceHealth;
  readonly #unwatch: () => void;
  readonly #claims: Claims;
  readonly #settlements: Settlements;
  readonly #lease: Lease;
  readonly #dead: ProducerDeadLetters<Message>;
  readonly #registration: ReaderRegistration;
  /** The produce() in progress: close() waits for it, so nothing is taken after the hand-back. */
  #producing: Promise<unknown> | undefined;
  #closing = false;

  constructor(o: ResolvedOptions) {
    this.#o = o;
    this.#redis = withScripts(o.redis);
    this.#own = consumerKeys(o.keys, this.id);
    this.#blocking = new BlockingConnection(o.redis);
    this.#health = new SourceHealth(o.logger, `reading ${o.keys.list}`);
    this.#unwatch = watchConnection(o.redis, this.#health, this.#blocking.connection);
    this.#claims = new Claims(this.#redis, o, this.id, this.#own);
    this.#settlements = new Settlements(
      {
        redis: this.#redis,
        inflight: this.#own.inflight,
        retry: o.keys.retry,
        settleBatch: o.settleBatch,
        settleIntervalMs: o.settleIntervalMs,
      },
      this.#health,
    );
    this.#lease = new Lease(this.#redis, o.keys, this.#own, this.id, o.leaseMs, this.#health);
    this.#dead = new ProducerDeadLetters<Message>(
      { pusher: o.deadLetter, list: o.keys.list, logger: o.logger, counters: o.counters, limit: o.batchSize * 4 },
      {
        body: (m) => m.body,
        done: (m, pushed) => void this.#settlements.add(m.id, pushed ? CONSUMED : GIVE_BACK),
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

  produce(signal: AbortSignal): Promise<RedisMessage<string | Buffer>[] | undefined> {
    const producing = this.#produce(signal);
    this.#producing = producing;
    return producing;
  }

  async #produce(signal: AbortSignal): Promise<RedisMessage<string | Buffer>[] | undefined> {
    try {
      // Commands on the main connection end early when the queue stops: with Redis not answering
      // they could wait for good. A claim that still lands later stays in this consumer's record:
      // close()'s hand-back, sent after it on the same connection, returns it, or else the lease does.
      if ((await abortable(this.#settlements.sendUnsent(), signal, () => ABORTED)) === ABORTED) return undefined;
      for (let round = 0; ; round++) {
        await this.#dead.room(signal);
        // abortable() leaves a promise alone when the signal is already aborted: no claim is sent then.
        if (signal.aborted) return undefined;
        const claimed = await abortable(this.#claims.take(), signal, () => undefined);
        if (claimed === undefined) return undefined;
        this.#health.ok();
        if (claimed.messages.length === 0 && claimed.over.length === 0) {
          if (signal.aborted || this.#closing) return undefined;
          break;
        }
        const live = this.#live(claimed);
        if (live.length > 0) return live;
        // All kept from the queue: claim again now rather than wait on a list that may hold more.
        if (round === ROUNDS || signal.aborted || this.#closing) return undefined;
      }
      // Nothing there: wait on the list. A message moved here sits in our staging list, which the
      // next claim empties first and which recovery returns if we die before that.
      const { keys, blockTimeoutMs } = this.#o;
      const staging = this.#own.staging;
      const moved = await this.#blocking.run((c) =>
        c.blmove(keys.list, staging, 'LEFT', 'RIGHT', blockTimeoutMs / 1000),
      );
      // Closing: a moved message stays staged; close()'s hand-back returns it.
      if (moved === null || signal.aborted || this.#closing) return undefined;
      const more = await abortable(this.#claims.take(), signal, () => undefined);
      if (more === undefined) return undefined;
      const live = this.#live(more);
      return live.length > 0 ? live : undefined;
    } catch (error) {
      if (!signal.aborted) await sleep(this.#health.failed(error), signal);
      return undefined;
    }
  }

  /** The claimed messages for the queue; the others go to the dead-letter pusher (or are dropped). */
  #live(claimed: Claimed): Message[] {
    if (claimed.over.length > 0) this.#dead.add([...claimed.over], 'delivery-limit');
    return this.#dead.live(claimed.messages);
  }

  settle(message: RedisMessage<string | Buffer>, outcome: Outcome): Promise<void> | undefined {
    return this.#settlements.add(message.id, outcome);
  }

  /**
   * Hands back what this consumer holds, at once. The order matters: a `BLMOVE` still waiting on the
   * server could move a message into the staging list after the hand-back, where nothing would ever
   * read it. So the wait is ended first (`CLIENT UNBLOCK`) and the produce() in progress is let to
   * finish; only then are the records handed back and forgotten. If it does not finish in time
   * (Redis unreachable), nothing is forced: the lease runs out and another instance recovers all.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#unwatch();
    // Every step is bounded: with Redis down, commands wait in ioredis's offline queue (for good with
    // `maxRetriesPerRequest: null`), and close() must still end, leaving no connection of ours behind.
    const limit = this.#o.blockTimeoutMs + 1000;
    try {
      // The readers entry goes first: `mandatory` pushers stop counting on this consumer at once.
      await Promise.all([this.#bounded(this.#lease.stop(), limit), this.#bounded(this.#registration.stop(), limit)]);
      const idle = (await this.#blocking.interrupt(limit)) && (await settledWithin(this.#producing, limit));
      // Nothing more goes through the blocking connection: closed now, not after the steps below.
      this.#blocking.disconnect();
      // Dead letters not confirmed yet are handed back (settled as given back) before the settles go.
      const dead = await this.#dead.close(limit);
      const settled = (await this.#bounded(this.#settlements.close(), limit)) && dead;
      // Anything still held (a staged message, settles that failed) goes back now, not after the lease.
      // Only once every settle landed: a hand-back before an ack would deliver that message again.
      if (idle && settled && (await this.#bounded(recover(this.#redis, this.#o.keys, this.id, true), limit))) return;
      this.#o.logger.warn(
        { list: this.#o.keys.list },
        `closing a consumer of ${this.#o.keys.list}: Redis did not answer in time; its lease returns its messages`,
      );
    } finally {
      this.#blocking.disconnect();
    }
  }

  /** Whether `work` succeeded within `ms`; a failure is reported, a late one is left to finish. */
  async #bounded(work: Promise<unknown>, ms: number): Promise<boolean> {
    let failed = false;
    const watched = work.catch((error: unknown) => {
      failed = true;
      this.#health.failed(error);
    });
    return (await settledWithin(watched, ms)) && !failed;
  }
}
