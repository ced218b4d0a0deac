import { type Pusher, pushConfirmed } from '../pushers/pusher.js';
import { backoffDelay, type RetryPolicy, sleep } from '../support/backoff.js';
import type { Reporter } from './reporter.js';
import type { ConsumerSlot } from './slots.js';

/**
 * Hands messages that failed every attempt to the dead-letter pusher: confirmed when the pusher can
 * confirm, retried with back-off until it succeeds. A message leaves its source only once its
 * destination has it, so until then the message (and its key) stays in the consumer's hands; the
 * stop deadline nacks it instead and aborts the push, and a push result that comes after that is ignored.
 */
export class DeadLetter<T> {
  readonly #pusher: Pusher<T>;
  readonly #backoff: RetryPolicy;
  readonly #report: Reporter<T>;

  constructor(pusher: Pusher<T>, backoff: RetryPolicy, report: Reporter<T>) {
    this.#pusher = pusher;
    this.#backoff = backoff;
    this.#report = report;
  }

  /**
   * Pushes `m` until it succeeds or the stop deadline abandons `slot` (check `slot.abandoned` after).
   * The deadline also aborts the push under way (its `signal`): the message was nacked by then, and
   * whatever the push's outcome, it is not also settled as dead-lettered.
   */
  async push(slot: ConsumerSlot<T>, m: T, cause: unknown, attempts: number): Promise<void> {
    const pusher = this.#pusher;
    const info = { cause, attempts, signal: slot.stop.signal };
    for (let failures = 1; ; failures++) {
      try {
        await pushConfirmed(pusher, m, info);
        return;
      } catch (pushError) {
        if (slot.abandoned) return;
        this.#report.error(pushError, 'dead-letter', [m], failures);
      }
      await sleep(backoffDelay(this.#backoff, failures), slot.stop.signal);
      if (slot.abandoned) return;
    }
  }
}
