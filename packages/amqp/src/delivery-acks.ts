import { Deque } from '@q/core/internal';
import type { ClientChannel, ClientMessage } from './client.js';

/** A delivery not settled yet. */
export const UNSETTLED = 0;
/** Acked by the Queue; the `basic.ack` waits for the next flush. */
export const ACK_PENDING = 1;
/** Settled: sent, or dropped with its channel. */
export const DONE = 2;

/** One delivery of a channel, in the order of its delivery tags. */
export interface AckEntry {
  readonly message: ClientMessage;
  state: typeof UNSETTLED | typeof ACK_PENDING | typeof DONE;
}

/** Deliveries kept in order before the first compaction (then twice what a compaction kept, at least this). */
const MIN_COMPACT_AT = 1024;

/**
 * Coalesces the acks of one channel: acks given in one turn of the event loop are sent after it,
 * those that form a run from the oldest unsettled delivery as one `basic.ack` with `multiple`
 * (which covers every delivery up to its tag that is still unsettled on the broker: exactly that
 * run), the others one by one. Nacks are never delayed. A run only grows over deliveries settled
 * here, so `multiple` never acks a delivery a handler still holds.
 */
export class DeliveryAcks {
  readonly #channel: ClientChannel;
  /** Every delivery not yet known settled, oldest (lowest tag) first; settled ones leave from the head. */
  readonly #inOrder = new Deque<AckEntry>(256);
  #pending: AckEntry[] = [];
  #scheduled = false;
  #compactAt = MIN_COMPACT_AT;
  readonly #onFailure: (unsent: number) => void;

  /** `onFailure` hears how many acks could not be sent (the channel had closed). */
  constructor(channel: ClientChannel, onFailure: (unsent: number) => void) {
    this.#channel = channel;
    this.#onFailure = onFailure;
  }

  /** Registers a delivery, in tag order. */
  delivered(entry: AckEntry): void {
    this.#inOrder.push(entry);
    // A handler holding an old delivery keeps the head in place: drop the settled ones behind it.
    if (this.#inOrder.length >= this.#compactAt) this.#compact();
  }

  /** Acks `entry` at the next flush. */
  ack(entry: AckEntry): void {
    entry.state = ACK_PENDING;
    this.#pending.push(entry);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends the pending acks now. */
  flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    let sent = 0;
    try {
      let upTo: AckEntry | undefined;
      let run = 0;
      const inOrder = this.#inOrder;
      for (let head = inOrder.peek(); head !== undefined && head.state !== UNSETTLED; head = inOrder.peek()) {
        if (head.state === ACK_PENDING) {
          head.state = DONE;
          upTo = head;
          run++;
        }
        inOrder.shift();
      }
      if (upTo !== undefined) {
        this.#channel.ack(upTo.message, true);
        sent += run;
      }
      for (const entry of pending) {
        if (entry.state !== ACK_PENDING) continue;
        this.#channel.ack(entry.message, false);
        entry.state = DONE;
        sent++;
      }
    } catch {
      // The client knows the channel closed: the broker requeued these deliveries.
      for (const entry of pending) entry.state = DONE;
      this.#onFailure(pending.length - sent);
    }
  }

  #compact(): void {
    const kept: AckEntry[] = [];
    for (let e = this.#inOrder.shift(); e !== undefined; e = this.#inOrder.shift()) if (e.state !== DONE) kept.push(e);
    for (const e of kept) this.#inOrder.push(e);
    this.#compactAt = Math.max(MIN_COMPACT_AT, kept.length * 2);
  }
}
