/** A handle returned by a {@link Clock}'s timers. */
export interface TimerHandle {
  /** Lets the timer keep the process alive again (Node's `Timeout.ref`). */
  ref?(): unknown;
  /** Lets the process exit while the timer is pending (Node's `Timeout.unref`). */
  unref?(): unknown;
}

/**
 * Time as the executors see it: a monotonic `now()` in milliseconds and interval/timeout timers.
 * Inject a {@link ManualClock} to drive intervals, idle exits and delays deterministically in tests.
 */
export interface Clock {
  /** Milliseconds from an arbitrary origin, never going backwards. */
  now(): number;
  /** Calls `fn` every `ms` milliseconds until cleared. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer from {@link Clock.setInterval}. */
  clearInterval(handle: TimerHandle): void;
  /** Calls `fn` once, `ms` milliseconds from now, unless cleared. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer from {@link Clock.setTimeout}. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and Node's timers. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setInterval: (fn: () => void, ms: number) => setInterval(fn, ms),
  clearInterval: (handle: TimerHandle) => clearInterval(handle as NodeJS.Timeout),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as NodeJS.Timeout),
});

interface ManualTimer extends TimerHandle {
  due: number;
  readonly every: number | undefined;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to ({@link ManualClock.advance}), firing due timers in order. For
 * tests of anything that takes a `clock` option.
 */
export class ManualClock implements Clock {
  #now: number;
  readonly #timers = new Set<ManualTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, ms, Math.max(1, ms));
  }

  clearInterval(handle: TimerHandle): void {
    this.#cancel(handle);
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#add(fn, ms, undefined);
  }

  clearTimeout(handle: TimerHandle): void {
    this.#cancel(handle);
  }

  /** Timers not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, earliest first, with `now()` set
   * to its due time. Awaits a microtask turn after each firing so promise chains started by a timer
   * run before the next one fires.
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers) if (t.due <= end && (next === undefined || t.due < next.due)) next = t;
      if (next === undefined) break;
      this.#now = next.due;
      if (next.every === undefined) this.#timers.delete(next);
      else next.due += next.every;
      next.fn();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    }
    this.#now = end;
    for (let i = 0; i < 10; i++) await Promise.resolve();
  }

  #add(fn: () => void, ms: number, every: number | undefined): ManualTimer {
    const timer: ManualTimer = {
      due: this.#now + Math.max(0, ms),
      every,
      fn,
      cancelled: false,
      ref: () => timer,
      unref: () => timer,
    };
    this.#timers.add(timer);
    return timer;
  }

  #cancel(handle: TimerHandle): void {
    const t = handle as ManualTimer;
    t.cancelled = true;
    this.#timers.delete(t);
  }
}
