import { Deque } from '../channel/deque.js';
import type { Waker } from '../channel/waker.js';
import type { Reporter } from './reporter.js';
import type { ConsumerSlot, Parked, ProducerSlot } from './slots.js';

const NO_KEY_FAILURE: unique symbol = Symbol('q.no-key-failure');

/** Works through a run held by `slot`; false when the stop deadline took the rest. */
export type WorkThrough<T> = (slot: ConsumerSlot<T>, run: readonly T[], origin: ProducerSlot<T>) => Promise<boolean>;

/**
 * Ordering by key: one consumer at a time holds a key, and runs of that key taken by other
 * consumers wait in the key's own backlog, in channel order, until the holder works through them.
 *
 * A busy key holds back only its own messages: a consumer that takes a run of a busy key parks it
 * and goes on with other keys. Back-pressure starts only when the backlogs of all keys together
 * hold `limit` messages or more; then consumers stop taking from the channel until a holder picks a
 * parked run up. So memory stays bounded (the channel's capacity, a run per consumer, and the
 * backlogs: fewer than `limit` + one run) and one slow key does not slow the others down until its
 * backlog alone fills the bound.
 */
export class KeyScheduler<T> {
  /** Messages taken by keyed consumers and not started yet: backlogs plus the rest of held runs. */
  parked = 0;
  /** Messages in backlogs: what the bound counts. */
  #backlogged = 0;
  readonly #limit: number;
  readonly #keys = new Map<unknown, Deque<Parked<T>> | null>();
  readonly #waiters = new Deque<Waker>();
  readonly #userKeyOf: (message: T) => unknown;
  readonly #report: Reporter<T>;
  /** The last message whose `keyOf` threw, so a run boundary asking again does not report it twice. */
  #keyFailed: unknown = NO_KEY_FAILURE;

  constructor(keyOf: (message: T) => unknown, limit: number, report: Reporter<T>) {
    this.#userKeyOf = keyOf;
    this.#limit = limit;
    this.#report = report;
  }

  /** `keyOf` as the channel calls it when cutting runs: a throwing `keyOf` means "no key", reported once. */
  readonly keyOf = (message: T): unknown => {
    try {
      return this.#userKeyOf(message);
    } catch (error) {
      if (this.#keyFailed !== message) {
        this.#keyFailed = message;
        this.#report.error(error, 'key', [message]);
      }
      return undefined;
    }
  };

  /** Whether the backlogs are full: a consumer must {@link KeyScheduler.wait} before taking more. */
  get full(): boolean {
    return this.#backlogged >= this.#limit;
  }

  /** Messages waiting in backlogs behind busy keys. */
  get backlogged(): number {
    return this.#backlogged;
  }

  /** Sleeps until a parked run was picked up (or the stop deadline passed). */
  wait(waker: Waker): Promise<void> {
    const sleep = waker.arm();
    this.#waiters.push(waker);
    return sleep;
  }

  /**
   * Runs a run of same-key messages (one message when the key is `undefined`), then whatever parked
   * behind the key meanwhile; parks the run if another consumer holds the key.
   */
  async run(
    slot: ConsumerSlot<T>,
    run: readonly T[],
    key: unknown,
    origin: ProducerSlot<T>,
    workThrough: WorkThrough<T>,
  ): Promise<void> {
    this.parked += run.length;
    if (key === undefined) {
      await workThrough(slot, run, origin);
      return;
    }
    if (this.#keys.has(key)) {
      let backlog = this.#keys.get(key);
      if (backlog === null || backlog === undefined) {
        backlog = new Deque<Parked<T>>();
        this.#keys.set(key, backlog);
      }
      backlog.push({ run, origin });
      this.#backlogged += run.length;
      return;
    }
    this.#keys.set(key, null);
    for (let next: Parked<T> | undefined = { run, origin }; next !== undefined; ) {
      // Abandoned by the stop deadline, which also nacked this key's backlog.
      if (!(await workThrough(slot, next.run, next.origin))) return;
      next = this.#keys.get(key)?.shift();
      if (next === undefined) continue;
      this.#backlogged -= next.run.length;
      if (this.#waiters.length !== 0 && this.#backlogged < this.#limit) this.#wakeWaiters();
    }
    this.#keys.delete(key);
  }

  /** The stop deadline: hands every parked run to `nack` and wakes every waiter. */
  abandon(nack: (origin: ProducerSlot<T>, message: T) => void): void {
    for (const backlog of this.#keys.values()) {
      if (backlog === null) continue;
      for (let p = backlog.shift(); p !== undefined; p = backlog.shift()) {
        this.#backlogged -= p.run.length;
        this.parked -= p.run.length;
        for (const m of p.run) nack(p.origin, m);
      }
    }
    this.#wakeWaiters();
  }

  /**
   * Every waiter re-checks the bound: waking only the first could hit a stale entry (a consumer woken
   * meanwhile by a broadcast and now asleep on the channel) and leave a real one asleep.
   */
  #wakeWaiters(): void {
    for (let w = this.#waiters.shift(); w !== undefined; w = this.#waiters.shift()) w.wake();
  }
}
