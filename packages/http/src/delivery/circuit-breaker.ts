/** A circuit's state: `closed` sends, `open` sends nothing, `half-open` sends one probe. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * An endpoint's circuit breaker: `failureThreshold` consecutive failed attempts open it; while open
 * nothing is sent (items wait, and age); after `openMs` one probe goes (half-open); the probe's success
 * closes it, its failure opens it again for another `openMs`. A success of any attempt closes it: an
 * attempt started before the circuit opened that succeeds proves the endpoint works.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #onChange: (state: CircuitState) => void;
  #state: CircuitState = 'closed';
  #failures = 0;
  #probing = false;
  #timer: NodeJS.Timeout | undefined;
  #openUntil = 0;

  /** `onChange` is told of every state change (the half-open one included: time to probe). */
  constructor(threshold: number, openMs: number, onChange: (state: CircuitState) => void) {
    this.#threshold = threshold;
    this.#openMs = openMs;
    this.#onChange = onChange;
  }

  /** The current state. */
  get state(): CircuitState {
    return this.#state;
  }

  /** While open, when its probe may go (ms since the epoch); 0 otherwise. */
  get openUntil(): number {
    return this.#state === 'open' ? this.#openUntil : 0;
  }

  /** Failed attempts since the last success. */
  get consecutiveFailures(): number {
    return this.#failures;
  }

  /**
   * Whether an attempt may start now. In half-open it takes the one probe slot, so the caller must start an
   * attempt when this returns true.
   */
  tryAcquire(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open' || this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /** An attempt succeeded (or was answered in a way that proves the endpoint up: a 4xx). */
  success(): void {
    this.#failures = 0;
    this.#probing = false;
    if (this.#state !== 'closed') this.#set('closed');
  }

  /** An attempt failed; `probe` tells whether it was the half-open probe. */
  failure(probe: boolean): void {
    this.#failures++;
    if (probe) this.#probing = false;
    if ((this.#state === 'closed' && this.#failures >= this.#threshold) || (this.#state === 'half-open' && probe))
      this.#set('open');
  }

  /** Back to closed with no failures, timer cleared (an endpoint re-enabled), without a change event. */
  reset(): void {
    this.#clear();
    this.#state = 'closed';
    this.#failures = 0;
    this.#probing = false;
  }

  /** Clears its timer (the engine closes). */
  stop(): void {
    this.#clear();
  }

  #set(state: CircuitState): void {
    this.#clear();
    this.#state = state;
    if (state === 'open') {
      this.#openUntil = Math.ceil(Date.now() + this.#openMs);
      this.#timer = setTimeout(halfOpen, this.#openMs, this);
    }
    this.#onChange(state);
  }

  /** @internal The open period ended. */
  toHalfOpen(): void {
    this.#timer = undefined;
    if (this.#state === 'open') this.#set('half-open');
  }

  #clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function halfOpen(breaker: CircuitBreaker): void {
  breaker.toHalfOpen();
}
