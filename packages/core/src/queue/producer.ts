import type { Outcome } from './outcome.js';

/**
 * go-zero's `ProduceListener`: how a producer tells the queue that its source is unavailable
 * (`onProducerPause`, e.g. Redis is down) and available again (`onProducerResume`).
 */
export interface ProduceListener {
  /** The producer's source is unavailable (a repeated call counts once). */
  onProducerPause(): void;
  /** The producer's source is available again. */
  onProducerResume(): void;
}

/**
 * Returned by {@link Producer.produce} when its source is exhausted for good: the producer's loop
 * ends, and once every producer loop ended this way the queue stops by itself (drains what it has,
 * then `start()` resolves), as a batch job wants.
 */
export const NO_MORE: unique symbol = Symbol('q.no-more');

/**
 * What {@link Producer.produce} may return: one message, a batch (an array, in order), nothing (for
 * now), or {@link NO_MORE} (never again). An array is always a batch; to send an array as one
 * message, wrap it in an object.
 */
export type Produced<T> = T | readonly T[] | undefined | null | typeof NO_MORE;

/**
 * go-zero's `Producer`: pulls messages from a source. The queue runs one loop per producer and calls
 * {@link Producer.produce} again as soon as the previous result was handed to the channel.
 */
export interface Producer<T> {
  /**
   * Returns the next message, a batch, or nothing. A producer that has nothing should wait for its
   * source itself (a long poll, a blocking pop) for a bounded time; when it returns nothing at once,
   * the queue backs off for a few milliseconds so the event loop is never starved.
   *
   * @param signal aborted when the queue stops; a pending long poll should end promptly. Messages
   *   returned after that are handed back through {@link Producer.settle} with a `nacked` outcome.
   */
  produce(signal: AbortSignal): Produced<T> | Promise<Produced<T>>;
  /** Receives the queue's listener once, right after the producer was created. */
  addListener?(listener: ProduceListener): void;
  /**
   * Learns what became of each message this producer produced: exactly once per message. Needed by
   * at-least-once sources, which keep a message until it is settled. May return a promise; errors it
   * throws or rejects with are reported as `error` events and never stop the queue.
   */
  settle?(message: T, outcome: Outcome): void | Promise<void>;
  /**
   * Called once, after the queue's loops ended (bounded by the stop deadline). The queue owns what
   * its factory returns: it closes each distinct object once, so a factory that returns one shared
   * instance to every loop gets one `close()`. A factory result that arrives after the queue gave up
   * on it is closed at once, unless it is an object another loop already uses.
   */
  close?(): void | Promise<void>;
}

/**
 * go-zero's `ProducerFactory`: makes one producer per producer loop. It may return the same
 * instance every time (it is then closed once, see {@link Producer.close}). Failures are retried with
 * back-off until the queue stops.
 */
export type ProducerFactory<T> = () => Producer<T> | Promise<Producer<T>>;
