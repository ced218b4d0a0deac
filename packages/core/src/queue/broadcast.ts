import type { Consumer } from './consumer.js';
import { isThenable, withTimeout } from './handler-call.js';
import type { Reporter } from './reporter.js';
import type { Broadcast, ConsumerSlot } from './slots.js';

/**
 * go-zero's `Broadcast`: an event delivered to every live consumer's `onEvent`, exactly once each,
 * in the same order for all, between their messages. Each consumer loop has an inbox; the loop
 * delivers what is in it before its next message.
 */
export class Broadcasts<T> {
  /** Made before `start()`: they reach every consumer when it comes up. */
  readonly #early: Broadcast[] = [];
  /** Not yet delivered by every consumer they were sent to. */
  readonly #open = new Set<Broadcast>();
  readonly #report: Reporter<T>;
  readonly #timeoutMs: number;

  /** `timeoutMs` bounds each `onEvent` call as it bounds handlers (0: no limit). */
  constructor(report: Reporter<T>, timeoutMs: number) {
    this.#report = report;
    this.#timeoutMs = timeoutMs;
  }

  /** Keeps `event` for the consumers of a queue that has not started. */
  early(event: unknown): Promise<number> {
    return new Promise<number>((resolve) => this.#early.push({ event, remaining: 0, delivered: 0, resolve }));
  }

  /** Sends `event` to every consumer in `slots`; resolves with how many delivered it. */
  send(event: unknown, slots: Iterable<ConsumerSlot<T>>): Promise<number> {
    return new Promise<number>((resolve) => this.#dispatch({ event, remaining: 0, delivered: 0, resolve }, slots));
  }

  /** Sends what was broadcast before `start()` (every consumer loop has its slot by then). */
  sendEarly(slots: Iterable<ConsumerSlot<T>>): void {
    for (const b of this.#early.splice(0)) this.#dispatch(b, slots);
  }

  /** Delivers `slot`'s inbox to its consumer; after the stop deadline, drops it instead. */
  async deliver(slot: ConsumerSlot<T>, hardStopped: () => boolean): Promise<void> {
    const consumer = slot.consumer as Consumer<T>;
    const onEvent = consumer.onEvent;
    for (let b = slot.inbox.shift(); b !== undefined; b = slot.inbox.shift()) {
      if (hardStopped()) {
        this.done(b, false);
        continue;
      }
      if (typeof onEvent === 'function') {
        try {
          const result = onEvent.call(consumer, b.event);
          if (isThenable(result)) {
            const timeoutMs = this.#timeoutMs;
            await (timeoutMs > 0 ? withTimeout(result, timeoutMs, new AbortController()) : result);
          }
        } catch (error) {
          this.#report.error(error, 'event');
        }
      }
      this.done(b, true);
    }
  }

  /** One consumer is done with `b`: it delivered it, or it ended first. */
  done(b: Broadcast, delivered: boolean): void {
    if (delivered) b.delivered++;
    if (--b.remaining <= 0 && this.#open.delete(b)) b.resolve(b.delivered);
  }

  /** The queue stopped: every broadcast not yet delivered everywhere resolves with its count so far. */
  finish(): void {
    for (const b of this.#early.splice(0)) b.resolve(0);
    for (const b of this.#open) b.resolve(b.delivered);
    this.#open.clear();
  }

  #dispatch(b: Broadcast, slots: Iterable<ConsumerSlot<T>>): void {
    for (const slot of slots) {
      b.remaining++;
      slot.inbox.push(b);
      slot.waker.wake();
    }
    if (b.remaining === 0) b.resolve(0);
    else this.#open.add(b);
  }
}
