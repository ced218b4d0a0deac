/**
 * Work under way, and who waits for none to be left: the engine's attempts and dead-letter writes
 * (`DeliveryEngine.idle()`), a delivery run's park appends and refused records' dead letters (what a closing
 * deliverer waits for besides the engine).
 */
export class WorkCount {
  #n = 0;
  #waiters: Array<() => void> = [];

  /** One more under way. */
  enter(): void {
    this.#n++;
  }

  /** One fewer under way; the waiters wake when it was the last. */
  leave(): void {
    if (--this.#n !== 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Counts `work` until it settles; returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.enter();
    return work.finally(() => this.leave());
  }

  /** Resolves once none is under way (at once when so). */
  none(): Promise<void> {
    if (this.#n === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
