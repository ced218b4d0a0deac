/**
 * The three moments of a Queue's stop, as signals and promises:
 *
 * - `soft`: `stop()` was called. Producer loops stop asking for messages.
 * - `closing`: the channel closed (producers let go of everything they held); consumers only drain.
 * - `hard`: the stop deadline passed (or the run is over). Handlers' signals fire, waits end.
 *
 * Loops get child signals of their own ({@link StopSignals.child}) instead of these shared ones:
 * producers and handlers add listeners to the signal they are given (a `fetch`, ioredis, a timer),
 * and Node warns past 10 listeners on one signal: more than 10 loops would print
 * `MaxListenersExceededWarning` on every start.
 */
export class StopSignals {
  readonly soft = new AbortController();
  readonly closing = new AbortController();
  readonly hard = new AbortController();
  /** Resolves when the channel closed. */
  readonly channelClosed: Promise<void>;
  /** Resolves at the stop deadline (or when the run is over). */
  readonly hardStop: Promise<void>;
  /** The earliest deadline asked for, on `performance.now()`'s clock. */
  deadline = Number.POSITIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  readonly #softChildren = new Set<AbortController>();

  constructor() {
    this.channelClosed = settlesOnAbort(this.closing.signal);
    this.hardStop = settlesOnAbort(this.hard.signal);
    this.soft.signal.addEventListener(
      'abort',
      () => {
        for (const child of this.#softChildren) child.abort(this.soft.signal.reason);
        this.#softChildren.clear();
      },
      { once: true },
    );
  }

  /** A signal of its own for one producer loop, aborted with `soft`. */
  child(): AbortSignal {
    const child = new AbortController();
    if (this.soft.signal.aborted) child.abort(this.soft.signal.reason);
    else this.#softChildren.add(child);
    return child.signal;
  }

  /**
   * Moves the deadline to `timeoutMs` from now if that is earlier than the current one; `onDeadline`
   * runs when it passes. `Infinity` sets no timer.
   */
  setDeadline(timeoutMs: number, onDeadline: () => void): void {
    const deadline = performance.now() + timeoutMs;
    if (deadline >= this.deadline) return;
    this.deadline = deadline;
    clearTimeout(this.#timer);
    if (Number.isFinite(timeoutMs)) this.#timer = setTimeout(onDeadline, timeoutMs);
  }

  /** Ends the deadline's timer (the run is over). */
  clearDeadline(): void {
    clearTimeout(this.#timer);
  }
}

function settlesOnAbort(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
