import { NoAvailablePusherError } from './errors.js';
import { consoleLogger, type Logger } from './logger.js';
import type { Pusher, PushInfo } from './pusher.js';
import { generateName } from './util.js';

/** Options of {@link BalancedPusher}. */
export interface BalancedPusherOptions {
  /**
   * Told about each pusher that failed before the next one was tried.
   * @default consoleLogger
   */
  logger?: Logger;
}

/**
 * go-zero's `BalancedPusher`: round-robin over its pushers with failover. Each push starts at the next
 * pusher of a counter shared by all callers (the first push goes to `pushers[1 % n]`, as in go-zero),
 * tries at most every pusher once, and resolves on the first success. When all fail, or there are
 * none, it rejects with {@link NoAvailablePusherError} whose `cause` holds every failure.
 */
export class BalancedPusher<T = string> implements Pusher<T> {
  readonly #pushers: readonly Pusher<T>[];
  readonly #name: string;
  readonly #logger: Logger;
  #index = 0;

  constructor(pushers: readonly Pusher<T>[], options: BalancedPusherOptions = {}) {
    this.#pushers = [...pushers];
    this.#name = generateName(this.#pushers);
    this.#logger = options.logger ?? consoleLogger;
  }

  name(): string {
    return this.#name;
  }

  async push(message: T, info?: PushInfo): Promise<void> {
    const size = this.#pushers.length;
    const errors: unknown[] = [];
    for (let i = 0; i < size; i++) {
      this.#index = (this.#index + 1) % Number.MAX_SAFE_INTEGER;
      const target = this.#pushers[this.#index % size] as Pusher<T>;
      try {
        await target.push(message, info);
        return;
      } catch (error) {
        errors.push(error);
        this.#logger.error('push failed, trying the next pusher', { pusher: target.name(), error });
      }
    }
    throw new NoAvailablePusherError(errors.length > 0 ? { cause: new AggregateError(errors) } : undefined);
  }
}
