import { EventEmitter } from 'eventemitter3';
import type { Logger } from '../support/logger.js';
import type { QueueErrorInfo, QueueErrorStage, QueueEvents } from './events.js';

/** How eventemitter3 keeps a listener (its `_events` entries, stable since v1). */
interface StoredListener {
  readonly fn: (...args: unknown[]) => unknown;
  readonly context: unknown;
  readonly once: boolean;
}

/**
 * Where the Queue's loops tell the outside world what happened, guarded: user code runs inside
 * every emit, and a listener that throws must never end the loop that emitted (a dead consumer loop
 * leaves its message unsettled, which for Kafka stalls commits for good). What a listener throws is
 * reported on `error`, and the listeners after it still get the event; what an `error` listener or
 * the logger throws is dropped (there is nobody left to tell).
 */
export class Reporter<T> {
  readonly #emitter: EventEmitter<QueueEvents<T>>;
  readonly #options: { readonly name: string; readonly logger: Logger };

  /** `options` is read at each report: the name may change until `start()`. */
  constructor(emitter: EventEmitter<QueueEvents<T>>, options: { readonly name: string; readonly logger: Logger }) {
    this.#emitter = emitter;
    this.#options = options;
  }

  /** Reports `error` on the `error` event, or to the logger when nobody listens. */
  error(error: unknown, stage: QueueErrorStage, messages?: readonly T[], attempt?: number): void {
    const queue = this.#options.name;
    const info: QueueErrorInfo<T> =
      messages === undefined
        ? { queue, stage }
        : attempt === undefined
          ? { queue, stage, messages }
          : { queue, stage, messages, attempt };
    if (this.#emitter.listenerCount('error') > 0) {
      try {
        this.#emitter.emit('error', error, info);
      } catch (listenerError) {
        this.log('error', 'error listener threw', { queue, err: listenerError });
      }
      return;
    }
    this.log('error', `${stage} failed`, { queue, stage, attempt, err: error });
  }

  /** Logs through the user's logger; a logger that throws is ignored. */
  log(level: 'error' | 'warn', message: string, fields: Record<string, unknown>): void {
    try {
      this.#options.logger[level](fields, message);
    } catch {
      // Nowhere left to report it.
    }
  }

  /** Emits `event` to each listener; one that throws is reported and the others still run. */
  emit<E extends Exclude<keyof QueueEvents<T>, 'error'>>(event: E, ...args: QueueEvents<T>[E]): void {
    const stored = storedListeners(this.#emitter, event);
    if (stored === undefined) {
      try {
        (this.#emitter.emit as (event: E, ...args: QueueEvents<T>[E]) => boolean)(event, ...args);
      } catch (error) {
        this.error(error, 'listener');
      }
      return;
    }
    for (const l of stored) {
      if (l.once) this.#emitter.removeListener(event, l.fn as never, undefined, true);
      try {
        l.fn.apply(l.context, args);
      } catch (error) {
        this.error(error, 'listener');
      }
    }
  }

  /** Runs a call into user code (a go-zero `Listener`, a producer's `addListener`), reporting a throw. */
  guard(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.error(error, 'listener');
    }
  }
}

/**
 * A copy of `event`'s listeners as eventemitter3 stores them, so each can be called on its own (its
 * `emit` stops at the first throw); `undefined` if the store does not look as expected, and then the
 * caller falls back to `emit`.
 */
const NONE: readonly StoredListener[] = Object.freeze([]);

function storedListeners(emitter: object, event: string): readonly StoredListener[] | undefined {
  const events = (emitter as unknown as { _events?: Record<string, unknown> })._events;
  if (events === undefined || events === null) return undefined;
  const entry = events[EventEmitter.prefixed ? `${EventEmitter.prefixed}${event}` : event];
  // `drain` is emitted from the settlement path: nobody listening must cost no allocation.
  if (entry === undefined) return NONE;
  const list = Array.isArray(entry) ? [...entry] : [entry];
  return list.every((l) => typeof (l as StoredListener)?.fn === 'function') ? (list as StoredListener[]) : undefined;
}
