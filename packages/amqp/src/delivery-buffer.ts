import { Deque, whenAborted } from '@q/core/internal';
import type { AmqpDelivery } from './amqp-delivery.js';
import { DeliverySource } from './delivery-source.js';

/** A produce() waiting for deliveries. */
interface Waiter {
  readonly wake: () => void;
}

/**
 * Deliveries the broker pushed (at most the prefetch of them) until a producer loop takes them.
 * Deliveries of a channel that closed meanwhile are skipped when taken: the broker requeued them
 * and delivers them again, so handing them out would only make duplicates.
 */
export class DeliveryBuffer {
  readonly #items = new Deque<AmqpDelivery>(256);
  /** In arrival order (a Set iterates in insertion order); a wait that ends leaves at once. */
  readonly #waiters = new Set<Waiter>();

  /** Deliveries held, including any of a channel that closed since. */
  get length(): number {
    return this.#items.length;
  }

  /** Adds a delivery and wakes one waiting {@link DeliveryBuffer.take}. */
  push(delivery: AmqpDelivery): void {
    this.#items.push(delivery);
    this.#wakeOne();
  }

  /**
   * Every live delivery held now; when there is none, waits up to `waitMs` for one (the wait ends
   * early, with nothing, when `signal` aborts or {@link DeliveryBuffer.wakeAll} is called).
   */
  async take(signal: AbortSignal, waitMs: number): Promise<AmqpDelivery[]> {
    let taken = this.#takeLive();
    if (taken.length > 0 || signal.aborted) return taken;
    await this.#wait(signal, waitMs);
    if (signal.aborted) return [];
    taken = this.#takeLive();
    // Deliveries left after this waiter took its share: wake the next one.
    if (this.#items.length > 0) this.#wakeOne();
    return taken;
  }

  /** Removes and returns every delivery held (live or not). */
  drain(): AmqpDelivery[] {
    return this.#items.drain();
  }

  /** Ends every wait (closing). */
  wakeAll(): void {
    for (const w of [...this.#waiters]) w.wake();
  }

  /** Wakes the longest waiting take(). */
  #wakeOne(): void {
    for (const w of this.#waiters) {
      w.wake();
      return;
    }
  }

  #takeLive(): AmqpDelivery[] {
    const out: AmqpDelivery[] = [];
    for (let d = this.#items.shift(); d !== undefined; d = this.#items.shift()) {
      if (DeliverySource.settleable(d)) out.push(d);
      // Its channel closed: marks it settled (and counted as dropped); nothing is sent.
      else DeliverySource.nack(d, true);
    }
    return out;
  }

  #wait(signal: AbortSignal, waitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const waiter: Waiter = {
        wake: () => {
          if (done) return;
          done = true;
          this.#waiters.delete(waiter);
          clearTimeout(timer);
          unsubscribe();
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, waitMs);
      const unsubscribe = whenAborted(signal, waiter.wake);
      this.#waiters.add(waiter);
    });
  }
}
