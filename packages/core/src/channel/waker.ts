/**
 * A one-shot, re-armable wake-up for a loop that sleeps until something happens.
 *
 * A consumer loop sleeps on one of these while the channel is empty; the channel wakes it when a
 * message arrives and the queue wakes it when an event is broadcast, so one promise serves both
 * and no sleeper needs a timer.
 *
 * @internal
 */
export class Waker {
  #resolve: (() => void) | undefined = undefined;
  /** Set while the waker sits in a channel's reader list, so it is listed at most once. */
  listed = false;

  /** Starts a sleep; the returned promise settles on the next {@link Waker.wake}. */
  arm(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
  }

  /** Whether a sleep is pending. */
  get armed(): boolean {
    return this.#resolve !== undefined;
  }

  /** Ends the pending sleep. Returns false when nobody was sleeping, so callers can wake another. */
  wake(): boolean {
    const resolve = this.#resolve;
    if (resolve === undefined) return false;
    this.#resolve = undefined;
    resolve();
    return true;
  }
}
