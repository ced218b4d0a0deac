/**
 * Work a delivery run does outside the engine (a park append, a refused record's dead letter): a closing
 * deliverer waits for none to be left before it commits, as the engine's `idle()` does not see them.
 */
export class WorkCount {
  #n = 0;
  #waiters: Array<() => void> = [];

  /** Counts `work` until it settles; returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#n++;
    return work.finally(() => {
      if (--this.#n !== 0) return;
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    });
  }

  /** Resolves once none is under way (at once when so). */
  none(): Promise<void> {
    if (this.#n === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
