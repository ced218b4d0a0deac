import { settledWithin } from '@q/core/internal';
import { type AmqpDelivery, DELIVERY_COUNT_HEADER, X_DELIVERY_COUNT } from './amqp-delivery.js';
import type { ResolvedProducerOptions } from './amqp-producer-options.js';
import type { ClientConfirmChannel, ClientConnection, ClientPublishOptions } from './client.js';
import { DeliverySource } from './delivery-source.js';

/**
 * `onFailure: 'republish'`: a failed message goes back to its queue as a copy whose
 * `q-delivery-count` header says how often it was delivered, published on a confirm channel of the
 * consumer's connection; the original is acked once the broker confirmed the copy. When the copy
 * cannot be confirmed (no connection, a nack, the channel closed) the original is requeued instead
 * (or, its channel gone, redelivered by the broker): the message is never lost, at worst doubled.
 */
export class DeliveryRepublisher {
  readonly #o: ResolvedProducerOptions;
  readonly #connection: () => ClientConnection | undefined;
  readonly #pending = new Set<Promise<void>>();
  #channel: { readonly conn: ClientConnection; readonly channel: Promise<ClientConfirmChannel> } | undefined;
  #closed = false;
  /** Copies confirmed (and their originals acked). */
  republished = 0;

  /** `connection` returns the connection the consumer runs on now. */
  constructor(o: ResolvedProducerOptions, connection: () => ClientConnection | undefined) {
    this.#o = o;
    this.#connection = connection;
  }

  /** Republishes `delivery` and acks it once the copy is confirmed. */
  republish(delivery: AmqpDelivery): void {
    const work = this.#republish(delivery).finally(() => this.#pending.delete(work));
    this.#pending.add(work);
  }

  /** Waits for republishes under way, then closes the confirm channel: `timeoutMs` in all. */
  async close(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    await settledWithin(Promise.all(this.#pending), timeoutMs);
    this.#closed = true;
    const current = this.#channel;
    this.#channel = undefined;
    if (current !== undefined) {
      await settledWithin(
        current.channel.then((c) => c.close()).catch(() => {}),
        Math.max(0, deadline - performance.now()),
      );
    }
  }

  async #republish(delivery: AmqpDelivery): Promise<void> {
    const message = DeliverySource.message(delivery);
    try {
      if (message === undefined || this.#closed) throw new Error('closed');
      const channel = await this.#confirmChannel();
      const headers: Record<string, unknown> = { ...delivery.headers, [DELIVERY_COUNT_HEADER]: delivery.deliveries };
      delete headers[X_DELIVERY_COUNT];
      // The user id must match the connection's user or the broker closes the channel: not copied.
      const { userId: _userId, ...properties } = delivery.properties;
      const options = { ...properties, headers } as ClientPublishOptions;
      await new Promise<void>((resolve, reject) => {
        channel.publish('', this.#o.queue, message.content, options, (error) => (error ? reject(error) : resolve()));
      });
      if (DeliverySource.ack(delivery)) this.republished++;
    } catch (error) {
      this.#o.logger.warn(
        { err: error, queue: this.#o.queue },
        `republishing a failed message of ${this.#o.queue} failed; requeued instead`,
      );
      DeliverySource.nack(delivery, true);
    }
  }

  /** A confirm channel on the consumer's connection, opened once per connection (again if it closed). */
  #confirmChannel(): Promise<ClientConfirmChannel> {
    const conn = this.#connection();
    if (conn === undefined) return Promise.reject(new Error('not connected'));
    const current = this.#channel;
    if (current !== undefined && current.conn === conn) return current.channel;
    const channel = conn.createConfirmChannel().then((c) => {
      c.on('close', () => {
        if (this.#channel?.channel === channel) this.#channel = undefined;
      });
      return c;
    });
    channel.catch(() => {
      if (this.#channel?.channel === channel) this.#channel = undefined;
    });
    this.#channel = { conn, channel };
    return channel;
  }
}
