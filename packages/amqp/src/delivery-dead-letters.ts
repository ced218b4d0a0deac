import {
  addDeath,
  backoffDelay,
  DEATH_HEADER,
  EXPIRES_AT_HEADER,
  isExpired,
  pushConfirmed,
  readDeaths,
  sleep,
  writeDeaths,
} from '@q/core';
import { settledWithin } from '@q/core/internal';
import type { AmqpDelivery } from './amqp-delivery.js';
import type { ResolvedProducerOptions } from './amqp-producer-options.js';
import { DeliverySource } from './delivery-source.js';

/**
 * The dead letters a producer makes itself, before any handler sees the message: past the
 * `deliveryLimit` (reason `delivery-limit`) or past its `q-expires-at` (reason `expired`). With a
 * `deadLetter` pusher a copy carrying one more `q-death` record is pushed (as every `@q` source
 * writes its own dead letters' records: the push carries no `info` that would make a pusher add a
 * second one), retried with back-off until it is taken, and only then is the delivery acked;
 * without one the delivery is rejected and RabbitMQ dead-letters it through the queue's DLX (or
 * drops it).
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
      if (isExpired(delivery.headers[EXPIRES_AT_HEADER])) return 'expired';
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
    const letter = deadCopy(delivery, reason, this.#o.queue);
    for (let failures = 1; ; failures++) {
      // Past a lost channel the broker redelivers it anyway, and the next delivery dead-letters it.
      if (signal.aborted || !DeliverySource.settleable(delivery)) break;
      try {
        await pushConfirmed(pusher, letter, { signal });
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

/**
 * `delivery` as its dead letter: one more `q-death` record (queue, reason, exchange, routing key),
 * and, as RabbitMQ does to a dead letter, no expiry left (`q-expires-at`, `expiration`): a message
 * dead-lettered because it expired must not expire again where it went.
 */
function deadCopy(delivery: AmqpDelivery, reason: 'expired' | 'delivery-limit', queue: string): AmqpDelivery {
  const { [EXPIRES_AT_HEADER]: _expiry, [DEATH_HEADER]: previous, ...headers } = delivery.headers;
  const { expiration: _expiration, ...properties } = delivery.properties;
  const deaths = addDeath(readDeaths(previous), {
    reason,
    queue,
    exchange: delivery.fields.exchange,
    routingKeys: [delivery.fields.routingKey],
  });
  return {
    body: delivery.body,
    headers: { ...headers, [DEATH_HEADER]: writeDeaths(deaths) },
    properties,
    fields: delivery.fields,
    deliveries: delivery.deliveries,
  };
}
