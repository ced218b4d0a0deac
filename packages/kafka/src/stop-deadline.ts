import { MAX_TIMER_MS } from '@q/core/internal';

/**
 * A stop's deadline (a `Date.now()` time) that a later, shorter stop can move earlier, never later:
 * waits under way end by the new deadline, as `Queue.stop()` of @q/core does for its own drain.
 */
export class StopDeadline {
  #at: number;
  /** Re-arms each wait under way after the deadline moved. */
  readonly #waits = new Set<() => void>();

  constructor(at = Number.POSITIVE_INFINITY) {
    this.#at = at;
  }

  /** The deadline now. */
  get at(): number {
    return this.#at;
  }

  /** Milliseconds left until the deadline (0 once passed; `Infinity` without one). */
  remainingMs(): number {
    return Math.max(0, this.#at - Date.now());
  }

  /** Moves the deadline to `at` when that is earlier; whether it moved. */
  lower(at: number): boolean {
    if (!(at < this.#at)) return false;
    this.#at = at;
    for (const rearm of this.#waits) rearm();
    return true;
  }

  /**
   * Whether `work` settles (either way) by the deadline, or by `floor` when that is later (a step
   * that gets a least time whatever is left); `true` when there is none. Timers are unref'd and
   * cleared: they never keep a process alive.
   */
  async within(work: PromiseLike<unknown> | undefined, floor = Number.NEGATIVE_INFINITY): Promise<boolean> {
    if (work === undefined) return true;
    let timer: NodeJS.Timeout | undefined;
    let rearm = (): void => {};
    const late = new Promise<false>((resolve) => {
      rearm = () => {
        clearTimeout(timer);
        const ms = Math.max(this.#at, floor) - Date.now();
        // Past what a timer holds (no deadline): only the work ends the wait.
        if (ms > MAX_TIMER_MS) return;
        timer = setTimeout(() => resolve(false), Math.max(0, ms));
        timer.unref();
      };
    });
    rearm();
    this.#waits.add(rearm);
    try {
      return await Promise.race([
        Promise.resolve(work).then(
          () => true,
          () => true,
        ),
        late,
      ]);
    } finally {
      clearTimeout(timer);
      this.#waits.delete(rearm);
    }
  }
}
