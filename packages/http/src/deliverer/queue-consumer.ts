import { type Consumer, type ConsumerFactory, InvalidOptionError } from '@q/core';
import type { DeliveryEngine } from '../delivery/delivery-engine.js';
import type { DeliveryItem } from '../delivery/types.js';

/** Options of {@link httpConsumerFactory}. */
export interface HttpConsumerOptions<T> {
  /** The engine the messages are delivered through (the caller's to close, after the queue stopped). */
  engine: DeliveryEngine;
  /**
   * The delivery of a message. Its `id` should be stable for the message (a Kafka topic, partition and
   * offset, an outbox id): a message the queue redelivers is then sent with the same `webhook-id`.
   */
  toItem: (message: T) => DeliveryItem;
}

/**
 * A `Queue` consumer that delivers each message by HTTP: `consume(m)` resolves once `engine.deliver(toItem(m))`
 * finished, delivered or dead-lettered (the dead letter stored first), so the queue settles (and a Kafka
 * queue commits) a message only after that. It throws when the engine is closed (`DeliveryClosedError`):
 * the message was not finished, and the queue's failure handling applies (stop the queue before closing the
 * engine). One consumer is shared by every consumer loop; the engine bounds what is in flight per endpoint.
 *
 * ```ts
 * const queue = new Queue(producers, httpConsumerFactory({ engine, toItem: (m) => ({ id: m.id, url, body: m.body }) }));
 * ```
 */
export function httpConsumerFactory<T>(options: HttpConsumerOptions<T>): ConsumerFactory<T> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  const { engine, toItem } = options;
  if (typeof engine !== 'object' || engine === null || typeof engine.deliver !== 'function')
    throw new InvalidOptionError('engine', engine, 'a DeliveryEngine');
  if (typeof toItem !== 'function') throw new InvalidOptionError('toItem', toItem, 'a function');
  const consumer: Consumer<T> = {
    async consume(message: T): Promise<void> {
      await engine.deliver(toItem(message));
    },
  };
  return () => consumer;
}
