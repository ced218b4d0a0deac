import { type AmqpDelivery, toDelivery } from './amqp-delivery.js';
import type { ClientChannel, ClientMessage } from './client.js';
import { type AckEntry, DeliveryAcks, DONE, UNSETTLED } from './delivery-acks.js';

/** Where a delivery's settlement state lives, out of sight of handlers. */
const TRACK: unique symbol = Symbol('q.amqp.delivery');

/** What a delivery needs to be settled: its channel, the client's message, and whether it was. */
interface Track extends AckEntry {
  readonly source: DeliverySource;
}

/** Counters a producer shares with its channels. */
export interface SettleCounts {
  /** Acks and nacks not sent because their channel had closed (the broker redelivers those messages). */
  dropped: number;
}

/** A delivery this producer handed out, with its {@link Track}. */
type Held = AmqpDelivery & { readonly [TRACK]: Track };

/**
 * One consumer channel and the deliveries it made. A delivery tag means something on its own
 * channel only, and once that channel closed the broker has requeued every delivery it had not
 * settled: acks and nacks for them are dropped here, never sent on a later channel (there the tag
 * is unknown, or names another message, and RabbitMQ closes the channel with PRECONDITION_FAILED).
 * Each delivery is settled at most once.
 */
export class DeliverySource {
  readonly channel: ClientChannel;
  /** The consumer's tag on this channel, once `consume` answered. */
  consumerTag = '';
  #open = true;
  /** Deliveries of this channel not settled yet (what counts against the prefetch). */
  #unsettled = 0;
  /** Shared by every channel of a producer: settlements dropped because their channel had closed. */
  readonly #counts: SettleCounts;
  readonly #acks: DeliveryAcks;

  constructor(channel: ClientChannel, counts: SettleCounts) {
    this.channel = channel;
    this.#counts = counts;
    this.#acks = new DeliveryAcks(channel, (unsent) => {
      this.#open = false;
      counts.dropped += unsent;
    });
  }

  /** Whether the channel is still open: its deliveries can be settled. */
  get open(): boolean {
    return this.#open;
  }

  /** Deliveries of this channel not settled yet. */
  get unsettled(): number {
    return this.#unsettled;
  }

  /** The channel closed: from now on settlements are dropped. */
  closed(): void {
    this.#open = false;
  }

  /** Sends the acks waiting for the end of this turn now (before closing the channel). */
  flush(): void {
    if (this.#open) this.#acks.flush();
  }

  /** Reads `message`, delivered on this channel, into a delivery that remembers where it came from. */
  track(message: ClientMessage): AmqpDelivery {
    this.#unsettled++;
    const delivery = toDelivery(message, this.consumerTag) as Held;
    const track: Track = { source: this, message, state: UNSETTLED };
    (delivery as { [TRACK]: Track })[TRACK] = track;
    this.#acks.delivered(track);
    return delivery;
  }

  /**
   * Removes `delivery` from the queue: `basic.ack`, sent at the end of this turn of the event loop,
   * with the other acks of the turn (see {@link DeliveryAcks}). False when it was settled before or
   * its channel is gone.
   */
  static ack(delivery: AmqpDelivery): boolean {
    const t = DeliverySource.#take(delivery);
    if (t === undefined) return false;
    t.source.#acks.ack(t);
    return true;
  }

  /**
   * `basic.nack`, at once: back to the queue with `requeue`, else rejected (dead-lettered through
   * the queue's DLX, or dropped when it has none). False when settled before or its channel is gone.
   */
  static nack(delivery: AmqpDelivery, requeue: boolean): boolean {
    const t = DeliverySource.#take(delivery);
    if (t === undefined) return false;
    t.state = DONE;
    try {
      t.source.channel.nack(t.message, false, requeue);
      return true;
    } catch {
      // The client already knows the channel is closed ('close' is on its way): same as closed.
      t.source.#open = false;
      t.source.#counts.dropped++;
      return false;
    }
  }

  /** Whether `delivery` can still be settled (not settled, its channel open). */
  static settleable(delivery: AmqpDelivery): boolean {
    const t = (delivery as Partial<Held>)[TRACK];
    return t !== undefined && t.state === UNSETTLED && t.source.#open;
  }

  /** The client's message behind `delivery` (for republishing it). */
  static message(delivery: AmqpDelivery): ClientMessage | undefined {
    return (delivery as Partial<Held>)[TRACK]?.message;
  }

  /**
   * The track of `delivery` when a settlement must be sent now: it was not settled before and its
   * channel is open. Either way it counts as settled from now on: a settlement for a closed channel
   * is dropped (counted), never sent anywhere.
   */
  static #take(delivery: AmqpDelivery): Track | undefined {
    const t = (delivery as Partial<Held>)[TRACK];
    if (t === undefined || t.state !== UNSETTLED) return undefined;
    const source = t.source;
    source.#unsettled--;
    if (source.#open) return t;
    t.state = DONE;
    source.#counts.dropped++;
    return undefined;
  }
}
