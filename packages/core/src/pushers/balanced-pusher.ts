import { NoAvailablePusherError } from '../support/errors.js';
import { consoleLogger, type Logger, safeLogger } from '../support/logger.js';
import { generateName } from '../support/util.js';
import { isConfirmingPusher, type Pusher, type PushInfo } from './pusher.js';

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
 * none, it rejects with {@link NoAvailablePusherError} whose `cause` holds every failure; when the
 * caller's `info.signal` aborts, it rejects with that pusher's error and tries no other. It has
 * `pushAndConfirm` exactly when every one of its pushers has it (then it fails over on confirms).
 */
export class BalancedPusher<T = string> implements Pusher<T> {
  readonly #pushers: readonly Pusher<T>[];
  readonly #name: string;
  readonly #logger: Logger;
  #index = 0;
  /** Present when every pusher confirms: resolves once one of them confirmed the message. */
  readonly pushAndConfirm?: (message: T, info?: PushInfo) => Promise<void>;

  constructor(pushers: readonly Pusher<T>[], options: BalancedPusherOptions = {}) {
    this.#pushers = [...pushers];
    this.#name = generateName(this.#pushers);
    this.#logger = safeLogger(options.logger ?? consoleLogger);
    if (this.#pushers.length > 0 && this.#pushers.every(isConfirmingPusher)) {
      this.pushAndConfirm = (message, info) => this.#pushOne(message, info, true);
    }
  }

  name(): string {
    return this.#name;
  }

  /**
   * Pushes `message` to the next pusher in turn; when that one fails (logged), to the one after, until
   * one took it.
   * @throws {NoAvailablePusherError} (rejects) when every pusher failed, with their errors as `cause`.
   */
  push(message: T, info?: PushInfo): Promise<void> {
    return this.#pushOne(message, info, false);
  }

  async #pushOne(message: T, info: PushInfo | undefined, confirm: boolean): Promise<void> {
    const size = this.#pushers.length;
    const errors: unknown[] = [];
    for (let i = 0; i < size; i++) {
      this.#index = (this.#index + 1) % Number.MAX_SAFE_INTEGER;
      const target = this.#pushers[this.#index % size] as Pusher<T>;
      try {
        await (confirm
          ? (target.pushAndConfirm as NonNullable<Pusher<T>['pushAndConfirm']>).call(target, message, info)
          : target.push(message, info));
        return;
      } catch (error) {
        // The caller gave up: trying the next pusher would send a message whose outcome is unknown twice.
        if (info?.signal?.aborted) throw error;
        errors.push(error);
        this.#logger.error({ pusher: target.name(), err: error }, 'push failed, trying the next pusher');
      }
    }
    throw new NoAvailablePusherError(errors.length > 0 ? { cause: new AggregateError(errors) } : undefined);
  }
}
