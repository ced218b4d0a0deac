import { type Clock, systemClock } from '../support/clock.js';
import { consoleLogger, type Logger, safeLogger } from '../support/logger.js';
import { duration, fn } from '../support/validate.js';

/** Options of {@link DelayExecutor}. */
export interface DelayExecutorOptions {
  /**
   * Told when `fn` throws or rejects.
   * @default logs through `logger`
   */
  onError?: (error: unknown) => void;
  /** @default systemClock */
  clock?: Clock;
  /** @default consoleLogger */
  logger?: Logger;
}

/**
 * go-zero's `DelayExecutor`: trailing-edge coalescing. The first `trigger()` schedules `fn` after
 * `delayMs`; triggers until then are absorbed (the delay is not restarted). The pending flag is
 * cleared just before `fn` runs, so a trigger during `fn` schedules another run (runs may overlap if
 * `fn` takes longer than `delayMs`, as in go-zero).
 */
export class DelayExecutor {
  readonly #fn: () => unknown;
  readonly #delayMs: number;
  readonly #clock: Clock;
  readonly #onError: (error: unknown) => void;
  #timer: ReturnType<Clock['setTimeout']> | undefined;

  /** @throws {InvalidOptionError} when `fn` is not a function or `delayMs` <= 0. */
  constructor(callback: () => unknown, delayMs: number, options: DelayExecutorOptions = {}) {
    this.#fn = fn<() => unknown>('fn', callback);
    this.#delayMs = duration('delayMs', delayMs, Number.MIN_VALUE);
    this.#clock = options.clock ?? systemClock;
    const logger = safeLogger(options.logger ?? consoleLogger);
    this.#onError = options.onError ?? ((error) => logger.error({ err: error }, 'DelayExecutor fn failed'));
  }

  /** Schedules a run in `delayMs`, unless one is already pending. */
  trigger(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      try {
        const result = this.#fn();
        if (result instanceof Promise) result.catch(this.#onError);
      } catch (error) {
        this.#onError(error);
      }
    }, this.#delayMs);
  }

  /** Whether a run is scheduled. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /** Cancels a scheduled run. */
  cancel(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
