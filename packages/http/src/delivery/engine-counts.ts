/** What `DeliveryEngine.stats()` reports. */
export interface EngineStats {
  /** Attempts in flight. */
  readonly inFlight: number;
  /** Items waiting: for their endpoint's room, their key, or their retry time. */
  readonly waiting: number;
  /** Items delivered (a 2xx) since the engine started. */
  readonly delivered: number;
  /** Retries scheduled since the engine started. */
  readonly retried: number;
  /** Items dead-lettered since the engine started. */
  readonly deadLettered: number;
}

/** The engine's running counts (what `DeliveryEngine.stats()` reports), and who waits for it to be idle. */
export class EngineCounts {
  /** Attempts in flight. */
  inFlight = 0;
  /** Dead letters being written. */
  finishing = 0;
  #idleWaiters: Array<() => void> = [];
  delivered = 0;
  retried = 0;
  deadLettered = 0;

  /** The counts, with the items waiting among `open` unfinished ones. */
  snapshot(open: number): EngineStats {
    const { inFlight, delivered, retried, deadLettered } = this;
    return { inFlight, waiting: Math.max(0, open - inFlight - this.finishing), delivered, retried, deadLettered };
  }

  /** Resolves once no attempt is in flight and no dead letter is being written (at once when so). */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.finishing === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** An attempt or a dead letter's write ended: wakes the idle waiters when it was the last. */
  ended(): void {
    if (this.inFlight !== 0 || this.finishing !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
