import { InvalidOptionError } from '@q/core';

/**
 * Memory shared by the tail caches of several logs (see `tailCacheBytes` in {@link LogOptions}): a process
 * with many logs (one per topic, say) holds at most `limitBytes` of cached groups in all, whatever each
 * log's own cap. Pass the same budget to every log that should share it.
 *
 * When a log adds a group beyond the limit, it gives up its own oldest groups first; a log that cannot
 * make room that way keeps nothing until others let theirs go (a cache is emptied when its reader falls
 * behind, and when its log closes). Its readers then read from disk: slower, never different.
 *
 * @example
 * ```ts
 * const budget = new TailCacheBudget(64 * 1024 * 1024);
 * const a = await openLog({ dir: 'data/a', tailCacheBudget: budget });
 * const b = await openLog({ dir: 'data/b', tailCacheBudget: budget });
 * ```
 */
export class TailCacheBudget {
  /** Bytes of cached groups all logs sharing this budget hold together, at most. */
  readonly limitBytes: number;
  #used = 0;

  /** @param limitBytes bytes of cached groups, all logs together (an integer >= 0; 0 turns caching off). */
  constructor(limitBytes: number) {
    if (typeof limitBytes !== 'number' || !Number.isSafeInteger(limitBytes) || limitBytes < 0)
      throw new InvalidOptionError('limitBytes', limitBytes, 'an integer >= 0');
    this.limitBytes = limitBytes;
  }

  /** Bytes the sharing logs' caches hold now. */
  get usedBytes(): number {
    return this.#used;
  }

  /** Whether the caches hold more than {@link TailCacheBudget.limitBytes}. @internal */
  get over(): boolean {
    return this.#used > this.limitBytes;
  }

  /** A cache took (positive) or let go of (negative) `bytes`. @internal */
  charge(bytes: number): void {
    this.#used += bytes;
  }
}
