import type { QueueStatsReport } from './stats.js';

/** Where an error reported through the `error` event happened. */
export type QueueErrorStage =
  | 'producer-factory'
  | 'consumer-factory'
  | 'produce'
  | 'consume'
  | 'event'
  | 'settle'
  | 'dead-letter'
  | 'listener'
  | 'key'
  | 'close'
  /** A producer or consumer loop ended by an error of the queue itself (a bug: please report it). */
  | 'loop';

/** Context of an `error` event. */
export interface QueueErrorInfo<T> {
  /** The name of the queue that reports. */
  readonly queue: string;
  /** Where the error happened. */
  readonly stage: QueueErrorStage;
  /** The message(s) concerned, for `consume`, `dead-letter`, `settle` and `key`. */
  readonly messages?: readonly T[];
  /** The attempt that failed, for `consume`. */
  readonly attempt?: number;
}

/** Events of a `Queue` (through `eventemitter3`). */
export interface QueueEvents<T> {
  /** Every producer is paused (the last active one paused). */
  pause: [];
  /** A producer is back after all were paused. */
  resume: [];
  /**
   * Something failed: a handler attempt, a factory call, a settle call, a listener. The queue goes on.
   * Without a listener, errors go to the logger (without message bodies).
   */
  error: [error: unknown, info: QueueErrorInfo<T>];
  /** A message was handed to the dead-letter pusher after its last attempt. */
  'dead-letter': [message: T, error: unknown, attempts: number];
  /** Nothing is buffered and nothing is in flight. */
  drain: [];
  /** Periodic report, every `statsIntervalMs`. */
  stats: [report: QueueStatsReport];
}

/** Options of `Queue.stop`. */
export interface StopOptions {
  /**
   * How long to let consumers drain before whatever is left is nacked back to its producer and the
   * queue is declared stopped, in milliseconds.
   * @default the queue's `stopTimeoutMs` (30000)
   */
  timeoutMs?: number;
}
