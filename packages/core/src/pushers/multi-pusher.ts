import { MultiPushError } from '../support/errors.js';
import { generateName } from '../support/util.js';
import { isConfirmingPusher, type Pusher, type PushInfo } from './pusher.js';

/**
 * go-zero's `MultiPusher`: pushes every message to all of its pushers, one after another, going on
 * after failures. Resolves when all succeeded; otherwise rejects with {@link MultiPushError} listing
 * each failure (go-zero's joined `BatchError`). When the caller's `info.signal` aborts, it rejects with
 * that pusher's error and pushes to no further pusher. It has `pushAndConfirm` exactly when every one of its
 * pushers has it (then it confirms through each of them).
 */
export class MultiPusher<T = string> implements Pusher<T> {
  readonly #pushers: readonly Pusher<T>[];
  readonly #name: string;
  /** Present when every pusher confirms: resolves once all of them confirmed the message. */
  readonly pushAndConfirm?: (message: T, info?: PushInfo) => Promise<void>;

  constructor(pushers: readonly Pusher<T>[]) {
    this.#pushers = [...pushers];
    this.#name = generateName(this.#pushers);
    if (this.#pushers.every(isConfirmingPusher)) {
      this.pushAndConfirm = (message, info) => this.#pushAll(message, info, true);
    }
  }

  name(): string {
    return this.#name;
  }

  /**
   * Pushes `message` to every pusher, one after another, going on after failures.
   * @throws {MultiPushError} (rejects) listing each failure, when any pusher failed.
   */
  push(message: T, info?: PushInfo): Promise<void> {
    return this.#pushAll(message, info, false);
  }

  async #pushAll(message: T, info: PushInfo | undefined, confirm: boolean): Promise<void> {
    const errors: unknown[] = [];
    for (const pusher of this.#pushers) {
      try {
        await (confirm
          ? (pusher.pushAndConfirm as NonNullable<Pusher<T>['pushAndConfirm']>).call(pusher, message, info)
          : pusher.push(message, info));
      } catch (error) {
        // The caller gave up: the rest would refuse at once, and the outcome is unknown either way.
        if (info?.signal?.aborted) throw error;
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new MultiPushError(errors);
  }
}
