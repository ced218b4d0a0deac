import { HandlerTimeoutError } from '../support/errors.js';

/** What a handler call's error is before it threw: any value, `undefined` included, can be thrown. */
export const NO_ERROR: unique symbol = Symbol('q.no-error');

/** Whether a handler's result is a promise (or any thenable) to wait for. */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null &&
  (typeof value === 'object' || typeof value === 'function') &&
  typeof (value as PromiseLike<unknown>).then === 'function';

/** Resolves on the next macrotask turn, letting timers and I/O run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Settles like `promise`, or rejects with {@link HandlerTimeoutError} after `timeoutMs`, aborting
 * `controller` (the handler's signal) with that error.
 */
export function withTimeout(
  promise: PromiseLike<unknown>,
  timeoutMs: number,
  controller: AbortController,
): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new HandlerTimeoutError(timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * A producer loop whose source and channel never make it wait, or a consumer loop with synchronous
 * handlers and a backlog, would run on microtasks forever and starve timers and I/O (heartbeats,
 * socket reads, the stop deadline), so it yields to the macrotask queue once it has run this long.
 * An event-loop turn costs as much as moving thousands of messages, so it is done by time, not by
 * count; the clock is read every {@link YIELD_CHECK_MASK} + 1 turns.
 */
export const YIELD_AFTER_MS = 5;
/** See {@link YIELD_AFTER_MS}. */
export const YIELD_CHECK_MASK = 63;
