import { isThenable } from './handler-call.js';
import { CONSUMED, isSettleable, type Outcome } from './outcome.js';
import type { Producer } from './producer.js';
import type { Reporter } from './reporter.js';
import type { ConsumerSlot, ProducerSlot } from './slots.js';

/**
 * Exactly-once bookkeeping: every message a producer returned is told to it once, as consumed,
 * failed, dead-lettered or nacked, and counted. Whoever settles a message first takes it out of the
 * hands that held it (a slot's `current`, a run, a backlog), so the stop deadline, which nacks
 * whatever is still held, can never settle it a second time.
 */
export class Settlement<T> {
  produced = 0;
  consumed = 0;
  failed = 0;
  retries = 0;
  deadLettered = 0;
  nacked = 0;
  /** Messages in the hands of handlers (including those waiting for a retry or a dead letter). */
  inFlight = 0;
  readonly #report: Reporter<T>;
  readonly #idle: () => boolean;

  /** `idle` says whether nothing is buffered or parked, for `drain`. */
  constructor(report: Reporter<T>, idle: () => boolean) {
    this.#report = report;
    this.#idle = idle;
  }

  /** Tells `origin`'s producer (or the message itself) the outcome; never throws. */
  settle(origin: ProducerSlot<T>, message: T, outcome: Outcome): void {
    try {
      let result: unknown;
      if (origin.settles) result = (origin.producer.settle as NonNullable<Producer<T>['settle']>)(message, outcome);
      else if (isSettleable(message)) {
        result =
          outcome.type === 'consumed' || outcome.type === 'dead-lettered' ? message.ack() : message.nack(outcome);
      } else return;
      if (isThenable(result)) {
        result.then(undefined, (error: unknown) => this.#report.error(error, 'settle', [message]));
      }
    } catch (error) {
      this.#report.error(error, 'settle', [message]);
    }
  }

  /** Hands `message` back unconsumed. */
  nack(origin: ProducerSlot<T>, message: T, outcome: Outcome): void {
    this.nacked++;
    this.settle(origin, message, outcome);
  }

  /** A handler finished `message`, held by `slot`. */
  consumedOne(slot: ConsumerSlot<T>, origin: ProducerSlot<T>, message: T): void {
    this.consumed++;
    // Plain values without a settling producer have nobody to tell: skip the call.
    if (origin.settles || typeof message === 'object') this.settle(origin, message, CONSUMED);
    this.release(slot, 1);
  }

  /** A handler finished `messages`, held by `slot`. */
  consumedMany(slot: ConsumerSlot<T>, origin: ProducerSlot<T>, messages: readonly T[]): void {
    this.consumed += messages.length;
    if (origin.settles || typeof messages[0] === 'object') for (const m of messages) this.settle(origin, m, CONSUMED);
    this.release(slot, messages.length);
  }

  /**
   * `slot` no longer holds anything; `count` messages left the hands of handlers. Called after their
   * settlement, so a `drain` listener sees every message settled.
   */
  release(slot: ConsumerSlot<T>, count: number): void {
    slot.current = undefined;
    slot.currentOrigin = undefined;
    this.inFlight -= count;
    if (this.inFlight === 0 && this.#idle()) this.#report.emit('drain');
  }
}
