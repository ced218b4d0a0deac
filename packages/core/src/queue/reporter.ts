import type { EventEmitter } from 'eventemitter3';
import type { Logger } from '../support/logger.js';
import type { QueueErrorInfo, QueueErrorStage, QueueEvents } from './events.js';

/**
 * Where the Queue's loops tell the outside world what happened, guarded: user code runs inside
 * every emit, and a listener that throws must never end the loop that emitted (a dead consumer loop
 * leaves its message unsettled, which for Kafka stalls commits for good). What a listener throws is
 * reported on `error`; what an `error` listener throws goes to the logger.
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
        this.#options.logger.error('error listener threw', { queue, error: listenerError });
      }
      return;
    }
    this.#options.logger.error(`${stage} failed`, { queue, stage, attempt, error });
  }

  /** Emits `event`; a throwing listener is reported and the caller goes on. */
  emit<E extends Exclude<keyof QueueEvents<T>, 'error'>>(event: E, ...args: QueueEvents<T>[E]): void {
    try {
      (this.#emitter.emit as (event: E, ...args: QueueEvents<T>[E]) => boolean)(event, ...args);
    } catch (error) {
      this.error(error, 'listener');
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
