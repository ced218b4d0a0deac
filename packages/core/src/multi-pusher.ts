import { MultiPushError } from './errors.js';
import type { Pusher, PushInfo } from './pusher.js';
import { generateName } from './util.js';

/**
 * go-zero's `MultiPusher`: pushes every message to all of its pushers, one after another, going on
 * after failures. Resolves when all succeeded; otherwise rejects with {@link MultiPushError} listing
 * each failure (go-zero's joined `BatchError`).
 */
export class MultiPusher<T = string> implements Pusher<T> {
  readonly #pushers: readonly Pusher<T>[];
  readonly #name: string;

  constructor(pushers: readonly Pusher<T>[]) {
    this.#pushers = [...pushers];
    this.#name = generateName(this.#pushers);
  }

  name(): string {
    return this.#name;
  }

  async push(message: T, info?: PushInfo): Promise<void> {
    const errors: unknown[] = [];
    for (const pusher of this.#pushers) {
      try {
        await pusher.push(message, info);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new MultiPushError(errors);
  }
}
