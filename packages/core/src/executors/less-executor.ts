import { type Clock, systemClock } from '../support/clock.js';
import { duration } from '../support/validate.js';

/**
 * go-zero's `LessExecutor`: a leading-edge throttle. `doOrDiscard(fn)` runs `fn` (synchronously) if it
 * never ran or the last run was more than `thresholdMs` ago, and returns whether it ran. Time is
 * monotonic. There is no race between concurrent callers in a single-threaded event loop (go-zero's
 * load-then-store lets two goroutines both run).
 */
export class LessExecutor {
  readonly #thresholdMs: number;
  readonly #clock: Clock;
  #last: number | undefined;

  /** @throws {InvalidOptionError} when `thresholdMs` <= 0. */
  constructor(thresholdMs: number, options: { clock?: Clock } = {}) {
    this.#thresholdMs = duration('thresholdMs', thresholdMs, Number.MIN_VALUE);
    this.#clock = options.clock ?? systemClock;
  }

  /** Runs `fn` unless it ran within the last `thresholdMs`; returns whether it ran. `fn`'s errors propagate. */
  doOrDiscard(fn: () => void): boolean {
    const now = this.#clock.now();
    if (this.#last !== undefined && this.#last + this.#thresholdMs >= now) return false;
    this.#last = now;
    fn();
    return true;
  }

  /** When `fn` last ran (clock time), if ever. For tests, like go-zero's access to `lastTime`. */
  get lastRun(): number | undefined {
    return this.#last;
  }

  /** Sets when `fn` last ran, so a test can start from a given state. */
  set lastRun(value: number | undefined) {
    this.#last = value;
  }
}
