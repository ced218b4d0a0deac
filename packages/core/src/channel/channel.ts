import { ChannelClosedError } from '../support/errors.js';
import { Deque } from './deque.js';
import { type ParkedSender, type Reclaimed, reclaimAll, takeRunFromSenders } from './parked-sender.js';
import { SINGLE, SlotRing } from './slot-ring.js';
import type { Waker } from './waker.js';

/** Returned by {@link Channel.tryReceive} when nothing is buffered yet. */
export const EMPTY: unique symbol = Symbol('q.channel.empty');
/** Returned by {@link Channel.tryReceive} once the channel is closed and fully drained. */
export const CLOSED: unique symbol = Symbol('q.channel.closed');

/**
 * A bounded, batch-aware FIFO between producer loops and consumer loops.
 *
 * - `capacity` counts messages, not batches. A sender whose messages do not fit keeps the rest in
 *   hand and waits ({@link Channel.send} returns a promise); memory therefore never grows with the
 *   backlog of the source. Capacity 0 is go-zero's unbuffered channel: a send completes only when a
 *   receiver has taken the message.
 * - Batches are stored as `(array, start, end)` slots, never copied on the way in; a receiver asking
 *   for a batch gets the producer's own array when it is whole, so the batch path costs the same
 *   per batch whatever its length.
 * - Every slot remembers its origin (the producer loop that sent it) so the queue can settle each
 *   message with the producer that produced it. A received batch never mixes origins.
 * - Sends that succeed at once return `undefined` rather than a resolved promise: the common case
 *   allocates nothing.
 *
 * Not safe for concurrent use from worker threads; it relies on the single-threaded event loop.
 */
export class Channel<T, O = unknown> {
  /** Maximum number of messages buffered (0 = rendezvous). */
  readonly capacity: number;
  /**
   * Waiting senders are let in only once the buffer has fallen to this level, so a producer that
   * outruns its consumers parks once per quarter of the capacity instead of once per message.
   */
  readonly #lowWater: number;
  /** Origin of the message(s) returned by the last successful receive. */
  origin: O | undefined = undefined;
  /** Key of the run returned by the last successful {@link Channel.tryReceiveRun}. */
  runKey: unknown = undefined;

  readonly #ring = new SlotRing<T, O>();
  #count = 0;
  /** Messages still in the hands of parked senders. */
  #held = 0;
  #closed = false;
  readonly #senders = new Deque<ParkedSender<T, O>>();
  readonly #readers = new Deque<Waker>();

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#lowWater = capacity - Math.max(1, Math.floor(capacity / 4));
  }

  /** Messages buffered in the channel, excluding those still held by waiting senders. */
  get size(): number {
    return this.#count;
  }

  /** Messages buffered plus those held by senders waiting for room. */
  get pending(): number {
    return this.#count + this.#held;
  }

  /** Whether {@link Channel.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one message. Returns `undefined` when it was buffered at once, otherwise a promise that
   * resolves `true` once a receiver or the buffer took it, or `false` if it was reclaimed instead.
   *
   * @throws {ChannelClosedError} when the channel is closed.
   */
  send(message: T, origin: O): Promise<boolean> | undefined {
    if (this.#closed) throw new ChannelClosedError();
    if (this.#count < this.capacity && this.#senders.length === 0) {
      this.#ring.push(message, origin, 0, SINGLE);
      this.#count++;
      if (this.#readers.length !== 0) this.#wakeReaders(1);
      return undefined;
    }
    return this.#park(undefined, message, 0, 1, origin);
  }

  /**
   * Sends a batch, in order. Returns `undefined` when all of it was buffered at once, otherwise a
   * promise that resolves `true` once every message was taken, or `false` if the rest was reclaimed.
   * The array is kept by reference until received: do not mutate it after sending.
   *
   * @throws {ChannelClosedError} when the channel is closed.
   */
  sendBatch(batch: readonly T[], origin: O): Promise<boolean> | undefined {
    if (this.#closed) throw new ChannelClosedError();
    const n = batch.length;
    if (n === 0) return undefined;
    let start = 0;
    if (this.#senders.length === 0) {
      const free = this.capacity - this.#count;
      if (free >= n) {
        this.#ring.push(batch, origin, 0, n);
        this.#count += n;
        if (this.#readers.length !== 0) this.#wakeReaders(1);
        return undefined;
      }
      if (free > 0) {
        this.#ring.push(batch, origin, 0, free);
        this.#count += free;
        start = free;
      }
    }
    return this.#park(batch, undefined, start, n, origin);
  }

  /**
   * Takes one message, or returns {@link EMPTY} / {@link CLOSED}. On success {@link Channel.origin}
   * holds the message's origin.
   */
  tryReceive(): T | typeof EMPTY | typeof CLOSED {
    if (this.#ring.size !== 0) {
      this.origin = this.#ring.origins[this.#ring.head];
      const message = this.#ring.shiftOne();
      this.#count--;
      this.#afterTake();
      return message;
    }
    const sender = this.#senders.peek();
    if (sender !== undefined) {
      this.origin = sender.origin;
      this.#held--;
      if (sender.batch === undefined) {
        this.#senders.shift();
        sender.resolve(true);
        return sender.single as T;
      }
      const message = sender.batch[sender.start++] as T;
      if (sender.start === sender.end) {
        this.#senders.shift();
        sender.resolve(true);
      }
      if (this.#readers.length !== 0) this.#passOn();
      return message;
    }
    return this.#closed ? CLOSED : EMPTY;
  }

  /**
   * Takes up to `max` messages from one origin, or returns {@link EMPTY} / {@link CLOSED}. A batch that
   * was sent whole and fits is returned as the sender's own array.
   */
  tryReceiveBatch(max: number): readonly T[] | typeof EMPTY | typeof CLOSED {
    if (this.#ring.size !== 0) {
      this.origin = this.#ring.origins[this.#ring.head];
      const out = this.#ring.shiftBatch(max);
      this.#count -= out.length;
      this.#afterTake();
      return out;
    }
    const sender = this.#senders.peek();
    if (sender !== undefined) {
      this.origin = sender.origin;
      if (sender.batch === undefined) {
        this.#held--;
        this.#senders.shift();
        sender.resolve(true);
        return [sender.single as T];
      }
      const take = Math.min(max, sender.end - sender.start);
      this.#held -= take;
      const out =
        sender.start === 0 && take === sender.batch.length
          ? sender.batch
          : sender.batch.slice(sender.start, sender.start + take);
      sender.start += take;
      if (sender.start === sender.end) {
        this.#senders.shift();
        sender.resolve(true);
      }
      if (this.#readers.length !== 0) this.#passOn();
      return out;
    }
    return this.#closed ? CLOSED : EMPTY;
  }

  /**
   * Takes the message at the head and every message directly behind it that has the same origin and
   * the same key under `keyOf`, up to `max`; or returns {@link EMPTY} / {@link CLOSED}. On success
   * {@link Channel.origin} and {@link Channel.runKey} describe the run. A message whose key is
   * `undefined` is a run of its own. Keyed consumers take whole runs so that a partition's or a key's
   * consecutive messages cost one hand-over instead of one per message.
   */
  tryReceiveRun(keyOf: (message: T) => unknown, max: number): T[] | typeof EMPTY | typeof CLOSED {
    const first = this.tryReceive();
    if (first === EMPTY || first === CLOSED) return first as typeof EMPTY | typeof CLOSED;
    const key = keyOf(first);
    this.runKey = key;
    const run = [first];
    if (key === undefined) return run;
    const origin = this.origin as O;
    // The ring first, then (once it is empty: a resolved sender adds nothing to it) the senders.
    if (this.#ring.size !== 0) this.#count -= this.#ring.shiftRun(origin, keyOf, key, max, run);
    if (this.#ring.size === 0 && run.length < max) {
      this.#held -= takeRunFromSenders(this.#senders, origin, keyOf, key, max, run);
    }
    if (this.#senders.length !== 0 && this.#count <= this.#lowWater) this.#refill();
    return run;
  }

  /**
   * Lists `waker` to be woken when a message arrives or the channel closes, and returns its sleep.
   * Call only after a receive returned {@link EMPTY}.
   */
  waitReadable(waker: Waker): Promise<void> {
    const sleep = waker.arm();
    if (!waker.listed) {
      waker.listed = true;
      this.#readers.push(waker);
    }
    return sleep;
  }

  /**
   * Closes the channel: sends throw from now on, receivers drain what is left and then see
   * {@link CLOSED}. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeReaders(Number.POSITIVE_INFINITY);
  }

  /**
   * Takes every buffered and every waiting message back out, grouped by origin in FIFO order, and
   * releases waiting senders with `false`. Used when a stop deadline expires, so those messages can be
   * handed back to their producers instead of being dropped.
   */
  reclaim(): Reclaimed<T, O>[] {
    const out = reclaimAll(this.#ring, this.#senders);
    this.#count = 0;
    this.#held = 0;
    return out;
  }

  #park(
    batch: readonly T[] | undefined,
    single: T | undefined,
    start: number,
    end: number,
    origin: O,
  ): Promise<boolean> {
    this.#held += end - start;
    return new Promise<boolean>((resolve) => {
      this.#senders.push({ batch, single, start, end, origin, resolve });
      // At capacity 0 a receiver takes straight from the parked sender, so someone must be told.
      if (this.#readers.length !== 0) this.#wakeReaders(1);
    });
  }

  /** Moves messages of waiting senders into the freed room, in FIFO order. */
  #refill(): void {
    let moved = 0;
    while (this.#count < this.capacity) {
      const s = this.#senders.peek();
      if (s === undefined) break;
      if (s.batch === undefined) {
        this.#ring.push(s.single as T, s.origin, 0, SINGLE);
        this.#count++;
        moved++;
        this.#senders.shift();
        s.resolve(true);
        continue;
      }
      const free = this.capacity - this.#count;
      const rest = s.end - s.start;
      if (rest <= free) {
        this.#ring.push(s.batch, s.origin, s.start, s.end);
        this.#count += rest;
        moved += rest;
        this.#senders.shift();
        s.resolve(true);
      } else {
        this.#ring.push(s.batch, s.origin, s.start, s.start + free);
        this.#count += free;
        moved += free;
        s.start += free;
      }
    }
    this.#held -= moved;
    if (moved !== 0 && this.#readers.length !== 0) this.#wakeReaders(1);
  }

  /**
   * Senders wake one reader, not one per message: a reader that took something and sees more left
   * wakes the next one. Batch readers thus never wake in herds to find one batch, and single readers
   * still fan out over a large batch.
   */
  /** After a take from the ring: lets parked senders in at the low-water mark, wakes the next reader. */
  #afterTake(): void {
    if (this.#senders.length !== 0 && this.#count <= this.#lowWater) this.#refill();
    if (this.#readers.length !== 0) this.#passOn();
  }

  #passOn(): void {
    if (this.#count + this.#held !== 0 || this.#closed) this.#wakeReaders(1);
  }

  #wakeReaders(n: number): void {
    while (n > 0) {
      const w = this.#readers.shift();
      if (w === undefined) return;
      w.listed = false;
      if (w.wake()) n--;
    }
  }
}
