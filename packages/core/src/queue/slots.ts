import { Deque } from '../channel/deque.js';
import { Waker } from '../channel/waker.js';
import type { ConsumeContext, Consumer } from './consumer.js';
import type { Producer } from './producer.js';

// The Queue's bookkeeping per producer loop, per consumer loop, per broadcast and per parked run.

export interface ProducerSlot<T> {
  readonly producer: Producer<T>;
  /** This loop's own stop signal (see StopSignals.child). */
  readonly signal: AbortSignal;
  readonly settles: boolean;
  paused: boolean;
  ended: boolean;
}

export interface Broadcast {
  readonly event: unknown;
  remaining: number;
  delivered: number;
  readonly resolve: (delivered: number) => void;
}

export interface ConsumerSlot<T> {
  /** This loop's number, from 1: what the key scheduler marks the keys it holds with. */
  readonly id: number;
  /** Undefined while the factory is still being called; the slot already receives broadcasts. */
  consumer: Consumer<T> | undefined;
  batchMode: boolean;
  readonly waker: Waker;
  readonly inbox: Deque<Broadcast>;
  /**
   * Aborted at the stop deadline: the signal every handler call of this loop gets (without a
   * timeout), and what its waits (back-off, dead-letter retries) end on. One per loop, see StopSignals.
   */
  readonly stop: AbortController;
  /** The controller of the attempt in progress when `timeoutMs` is set; also aborted at the deadline. */
  attempt: AbortController | undefined;
  /** The context of first attempts when no timeout is set, shared so the hot path allocates nothing. */
  readonly firstContext: ConsumeContext;
  /** What the consumer holds right now, so a stop deadline can nack it. */
  current: T | readonly T[] | undefined;
  currentIsBatch: boolean;
  currentOrigin: ProducerSlot<T> | undefined;
  /** Set when the stop deadline nacked `current`: whatever the handler does later is ignored. */
  abandoned: boolean;
  /** The run of one key being worked through (keyed mode); `run[runNext..]` is not started yet. */
  run: readonly T[] | undefined;
  runNext: number;
  runOrigin: ProducerSlot<T> | undefined;
}

/** A run of consecutive same-key messages waiting behind the consumer that holds their key. */
export interface Parked<T> {
  readonly run: readonly T[];
  readonly origin: ProducerSlot<T>;
}

/** A new consumer loop's slot. `stop` is its own hard-stop controller. */
export function consumerSlot<T>(id: number, stop: AbortController): ConsumerSlot<T> {
  return {
    id,
    consumer: undefined,
    batchMode: false,
    waker: new Waker(),
    inbox: new Deque<Broadcast>(),
    stop,
    attempt: undefined,
    firstContext: Object.freeze({ attempt: 1, signal: stop.signal }),
    current: undefined,
    currentIsBatch: false,
    currentOrigin: undefined,
    abandoned: false,
    run: undefined,
    runNext: 0,
    runOrigin: undefined,
  };
}
