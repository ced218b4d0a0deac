import { backoffDelay, type DeathReason, EXPIRES_AT_HEADER, isExpired, type PushInfo, sleep } from '@q/core';
import { settledWithin } from '@q/core/internal';
import type { AmqpDelivery } from './amqp-delivery.js';
import type { ResolvedProducerOptions } from './amqp-producer-options.js';
import { DeliverySource } from './delivery-source.js';

/**
 * The dead letters a producer makes itself, before any handler sees the message: past the
 * `deliveryLimit` (reason `delivery-limit`) or past its `q-expires-at` (reason `expired`). With a
 * `deadLetter` pusher the message is pushed (with `info.reason`, so the pusher writes the `q-death`
 * record), retried with back-off until it is taken, and only then acked; without one it is
 * rejected and RabbitMQ dead-letters it through the queue's DLX (or drops it).
 */
export class DeliveryDeadLetters {
  readonly #o: ResolvedProducerOptions;
  readonly #closing = new AbortController();
  readonly #pending = new Set<Promise<void>>();
  /** Deliveries dead-lettered for each reason (pushed and acked, or rejected). */
  readonly counts = { expired: 0, 'delivery-limit': 0 };

  constructor(o: ResolvedProducerOptions) {
    this.#o = o;
  }

  /** Why `delivery` must not be handled, or `undefined` when it may. */
  reasonFor(delivery: AmqpDelivery): 'expired' | 'delivery-limit' | undefined {
    const limit = this.#o.deliveryLimit;
    if (limit !== undefined && delivery.deliveries > limit) return 'delivery-limit';
    if (this.#o.checkExpiry) {
      const at = delivery.headers[EXPIRES_AT_HEADER];
      if (at !== undefined && isExpired(typeof at === 'number' ? String(at) : (at as string | Buffer)))
        return 'expired';
    }
    return undefined;
  }

  /** Dead-letters `delivery` for `reason` (see the class). */
  send(delivery: AmqpDelivery, reason: 'expired' | 'delivery-limit'): void {
    const pusher = this.#o.deadLetter;
    if (pusher === undefined) {
      if (DeliverySource.nack(delivery, false)) this.counts[reason]++;
      return;
    }
    const pushing = this.#push(delivery, reason).finally(() => this.#pending.delete(pushing));
    this.#pending.add(pushing);
  }

  /** Ends the pushes under way (their deliveries go back to the queue); waits at most `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.#closing.abort();
    await settledWithin(Promise.all(this.#pending), timeoutMs);
  }

  async #push(delivery: AmqpDelivery, reason: 'expired' | 'delivery-limit'): Promise<void> {
    const pusher = this.#o.deadLetter;
    if (pusher === undefined) return;
    const signal = this.#closing.signal;
    // `reason` tells @q pushers to add the q-death record (PushInfo.reason).
    const info: PushInfo & { readonly reason: DeathReason } = { reason, signal };
    for (let failures = 1; ; failures++) {
      // Past a lost channel the broker redelivers it anyway, and the next delivery dead-letters it.
      if (signal.aborted || !DeliverySource.settleable(delivery)) break;
      try {
        await (pusher.pushAndConfirm !== undefined
          ? pusher.pushAndConfirm(delivery, info)
          : pusher.push(delivery, info));
        if (DeliverySource.ack(delivery)) this.counts[reason]++;
        return;
      } catch (error) {
        if (signal.aborted) break;
        this.#o.logger.warn(
          { err: error, queue: this.#o.queue, reason, attempt: failures },
          `dead-lettering a message of ${this.#o.queue} failed; retrying`,
        );
      }
      await sleep(backoffDelay(this.#o.reopenBackoff, failures), signal);
    }
    DeliverySource.nack(delivery, true);
  }
}
