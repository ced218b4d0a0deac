import { sleep } from '@q/core';
import { settledWithin } from '@q/core/internal';
import type { DeadLetteredResult, DeadLetters } from './dead-letters.js';
import { DeadLettersClosedError } from './errors.js';
import type { DeliveryItem } from './types.js';

/** Back-off of a dead letter's write that failed (the item stays unfinished meanwhile). */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

/**
 * Writes the engine's dead letters, retrying a failed write (a full disk, an I/O error) with back-off
 * until it is stored or the engine stops: an item is finished only once its dead letter is safe.
 */
export class DeadLetterWriter {
  readonly #deadLetters: DeadLetters;
  readonly #onError: (err: unknown, item: DeliveryItem) => void;
  readonly #stop = new AbortController();
  readonly #pending = new Set<Promise<boolean>>();
  #stopping = false;

  /** `onError` is told of each failed write that will be retried. */
  constructor(deadLetters: DeadLetters, onError: (err: unknown, item: DeliveryItem) => void) {
    this.#deadLetters = deadLetters;
    this.#onError = onError;
  }

  /** Stores the dead letter; true once stored, false when given up (stopping, or the dead letters closed). Never rejects. */
  write(item: DeliveryItem, result: DeadLetteredResult, excerpt: string | undefined): Promise<boolean> {
    const writing = this.#write(item, result, excerpt).finally(() => this.#pending.delete(writing));
    this.#pending.add(writing);
    return writing;
  }

  /** Lets the writes under way finish within `timeoutMs`, and stops retrying any (they give up). */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#pending.size > 0) await settledWithin(Promise.all(this.#pending), timeoutMs);
    this.#stop.abort();
  }

  async #write(item: DeliveryItem, result: DeadLetteredResult, excerpt: string | undefined): Promise<boolean> {
    for (let delay = RETRY_MIN_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        await this.#deadLetters.add(item, result, excerpt);
        return true;
      } catch (err) {
        if (this.#stopping || err instanceof DeadLettersClosedError) return false;
        this.#onError(err, item);
        await sleep(delay, this.#stop.signal);
        if (this.#stop.signal.aborted) return false;
      }
    }
  }
}
