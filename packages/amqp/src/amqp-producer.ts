import type { Outcome, ProduceListener, Producer, ProducerFactory } from '@q/core';
import type { AmqpDelivery } from './amqp-delivery.js';
import {
  type AmqpProducerOptions,
  type ResolvedProducerOptions,
  resolveProducerOptions,
} from './amqp-producer-options.js';
import type { ClientMessage } from './client.js';
import { AmqpConnection } from './connection.js';
import { DeliveryBuffer } from './delivery-buffer.js';
import { DeliveryDeadLetters } from './delivery-dead-letters.js';
import { DeliveryRepublisher } from './delivery-republisher.js';
import { DeliverySource, type SettleCounts } from './delivery-source.js';
import { DeliverySubscription } from './delivery-subscription.js';

/** How long one produce() waits for a delivery before it returns nothing (the Queue calls again). */
const WAIT_MS = 1000;

/** Counters of an {@link AmqpProducer}, since it was made. */
export interface AmqpProducerStats {
  /** Whether a consumer is running on the queue now. */
  readonly consuming: boolean;
  /** Deliveries received. */
  readonly delivered: number;
  /** Deliveries waiting here for a producer loop. */
  readonly buffered: number;
  /** Deliveries of the current channel not yet settled: at most the prefetch. */
  readonly unsettled: number;
  /** Acks and nacks dropped because their channel had closed (RabbitMQ redelivers those messages). */
  readonly dropped: number;
  /** Messages dead-lettered by this producer, by reason (never handed to a handler). */
  readonly deadLettered: {
    /** Expired messages (`q-expires-at` passed) pushed to `deadLetter`. */
    readonly expired: number;
    /** Messages past `deliveryLimit` pushed to `deadLetter`. */
    readonly 'delivery-limit': number;
  };
  /** Failed messages republished with their delivery count (`onFailure: 'republish'`). */
  readonly republished: number;
}

/**
 * The Queue's producer for one RabbitMQ queue (see {@link amqpProducerFactory}): one consumer with
 * manual acks on one channel, shared by every producer loop of the Queue. Deliveries wait in a
 * buffer until a loop takes them; each is settled on the channel that delivered it, once, after
 * its handler finished:
 * - `consumed` and `dead-lettered` (the Queue's dead-letter pusher has it): `basic.ack`;
 * - `failed`: as `onFailure` says (reject, requeue, or republish with a count);
 * - `nacked` (the Queue stopped before handling it): `basic.nack` with requeue.
 *
 * When the channel or the connection closes, RabbitMQ requeues every delivery it had not been told
 * about, and redelivers it (`redelivered` set) to whichever consumer is up. The acks and nacks of
 * those deliveries that come later are dropped: the channel that could take them is gone, and a
 * delivery tag means nothing on another channel (RabbitMQ would close it, PRECONDITION_FAILED). So
 * handlers run at least once, and the messages in hand at a loss are handled again.
 */
export class AmqpProducer implements Producer<AmqpDelivery> {
  readonly #o: ResolvedProducerOptions;
  readonly #connection: AmqpConnection;
  readonly #ownsConnection: boolean;
  readonly #subscription: DeliverySubscription;
  readonly #buffer = new DeliveryBuffer();
  readonly #deadLetters: DeliveryDeadLetters;
  readonly #republisher: DeliveryRepublisher | undefined;
  readonly #listeners = new Set<ProduceListener>();
  #paused = false;
  #closing: Promise<void> | undefined;
  #delivered = 0;
  readonly #counts: SettleCounts = { dropped: 0 };

  /** Validates `options` (throwing `InvalidOptionError`) and starts consuming. */
  constructor(options: AmqpProducerOptions) {
    const o = resolveProducerOptions(options);
    this.#o = o;
    this.#ownsConnection = o.connection === undefined;
    this.#connection =
      o.connection ?? new AmqpConnection({ ...o.connectionOptions, url: o.url as string, logger: o.logger });
    this.#deadLetters = new DeliveryDeadLetters(o);
    this.#subscription = new DeliverySubscription(
      this.#connection,
      o,
      {
        deliver: (source, message) => this.#deliver(source, message),
        consuming: () => this.#setPaused(false),
        lost: () => this.#setPaused(true),
      },
      this.#counts,
    );
    this.#republisher =
      o.onFailure === 'republish' ? new DeliveryRepublisher(o, () => this.#subscription.connection) : undefined;
    this.#subscription.start();
  }

  /** The queue this producer consumes. */
  get queue(): string {
    return this.#o.queue;
  }

  /**
   * Tells `listener` when the consumer stops without being asked (connection or channel lost, the
   * queue deleted: `onProducerPause`) and runs again (`onProducerResume`). Every producer loop of
   * a Queue registers one: they share this producer.
   */
  addListener(listener: ProduceListener): void {
    this.#listeners.add(listener);
    if (this.#paused) listener.onProducerPause();
  }

  /**
   * Every delivery buffered now, or once one arrives within a second; an empty batch otherwise.
   * Resolves at once, empty, when `signal` aborts (what is buffered stays for `close()` to requeue).
   */
  produce(signal: AbortSignal): Promise<AmqpDelivery[]> {
    return this.#buffer.take(signal, WAIT_MS);
  }

  /** Acks, rejects or requeues `message` on the channel that delivered it (see the class). */
  settle(message: AmqpDelivery, outcome: Outcome): void {
    switch (outcome.type) {
      case 'consumed':
      case 'dead-lettered':
        DeliverySource.ack(message);
        return;
      case 'nacked':
        DeliverySource.nack(message, true);
        return;
      case 'failed':
        // The republisher exists exactly when onFailure is 'republish'.
        if (this.#republisher !== undefined && DeliverySource.settleable(message)) this.#republisher.republish(message);
        else DeliverySource.nack(message, this.#o.onFailure !== 'reject');
    }
  }

  /** Counters since the producer was made. */
  stats(): AmqpProducerStats {
    const current = this.#subscription.current;
    return {
      consuming: current?.open === true,
      delivered: this.#delivered,
      buffered: this.#buffer.length,
      unsettled: current?.unsettled ?? 0,
      dropped: this.#counts.dropped,
      deadLettered: { ...this.#deadLetters.counts },
      republished: this.#republisher?.republished ?? 0,
    };
  }

  /**
   * Stops consuming and gives back what no handler got: the consumer is cancelled, every buffered
   * delivery is requeued (`basic.nack`), dead-letter pushes and republishes under way end (their
   * messages requeued), then the channels close, and the connection too when the producer opened
   * it. All of it waits at most `closeTimeoutMs` for the broker; whatever it did not answer is
   * requeued by the broker when the channel goes. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  async #close(): Promise<void> {
    const deadline = performance.now() + this.#o.closeTimeoutMs;
    const left = (): number => Math.max(0, deadline - performance.now());
    this.#buffer.wakeAll();
    await this.#subscription.cancel(left());
    // Deliveries that arrive from now on (sent before the cancel took effect) are requeued as they come.
    for (const delivery of this.#buffer.drain()) DeliverySource.nack(delivery, true);
    await this.#deadLetters.close(left());
    await this.#republisher?.close(left());
    await this.#subscription.close(left());
    this.#listeners.clear();
    if (this.#ownsConnection) await this.#connection.close({ timeoutMs: left() });
  }

  #deliver(source: DeliverySource, message: ClientMessage): void {
    this.#delivered++;
    const delivery = source.track(message);
    if (this.#closing !== undefined) {
      DeliverySource.nack(delivery, true);
      return;
    }
    const reason = this.#deadLetters.reasonFor(delivery);
    if (reason !== undefined) this.#deadLetters.send(delivery, reason);
    else this.#buffer.push(delivery);
  }

  #setPaused(paused: boolean): void {
    if (this.#paused === paused || (paused && this.#closing !== undefined)) return;
    this.#paused = paused;
    for (const listener of this.#listeners) {
      try {
        if (paused) listener.onProducerPause();
        else listener.onProducerResume();
      } catch (error) {
        this.#o.logger.error({ err: error }, 'a ProduceListener threw');
      }
    }
  }
}

/**
 * A producer factory for `new Queue(...)` reading one RabbitMQ queue with manual acks and a
 * prefetch: see {@link AmqpProducer} for what each outcome does and {@link AmqpProducerOptions}
 * for the options. Options are checked at once (throwing `InvalidOptionError`).
 *
 * Every producer loop of the Queue gets the same {@link AmqpProducer} (one consumer, one prefetch
 * window); the Queue closes it once when it stops, and a later call (a new Queue with the same
 * factory) starts a new one. One `producers` loop is enough: more only wait beside it. Give each
 * Queue its own factory: two Queues running at once on one factory would share one producer, and
 * the first to stop would close it under the other.
 *
 * ```ts
 * const queue = new Queue<AmqpDelivery>(
 *   amqpProducerFactory({ url: 'amqp://127.0.0.1', queue: 'jobs', prefetch: 256 }),
 *   () => ({ consume: (m) => handle(m.body) }),
 *   { producers: 1, consumers: 8, capacity: 240 },
 * );
 * ```
 */
export function amqpProducerFactory(options: AmqpProducerOptions): ProducerFactory<AmqpDelivery> {
  resolveProducerOptions(options);
  let current: AmqpProducer | undefined;
  return () => {
    // A Queue that stops closes it; the next Queue using this factory gets a fresh one.
    if (current === undefined || current.closed) current = new AmqpProducer(options);
    return current;
  };
}
