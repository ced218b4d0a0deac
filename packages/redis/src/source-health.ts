import { backoffDelay, LessExecutor, type Logger, type ProduceListener, retryPolicy } from '@q/core';

/** Successive failures wait 25, 50, 100 ... ms, at most 1 s. */
const RECONNECT = retryPolicy({ minDelayMs: 25, maxDelayMs: 1000, jitter: false });

/**
 * Turns the connection's state and the outcome of each Redis call into go-zero's producer
 * pause/resume: the connection closing or a call failing pauses (once), the connection being ready
 * again or a call succeeding resumes. Failures are logged at most once a second (rq's
 * `lessLogger`), and successive failures back off from 25 ms to 1 s.
 */
export class SourceHealth {
  #listener: ProduceListener | undefined;
  #paused = false;
  #failures = 0;
  readonly #throttle = new LessExecutor(1000);

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  set listener(listener: ProduceListener) {
    this.#listener = listener;
  }

  get paused(): boolean {
    return this.#paused;
  }

  ok(): void {
    this.#failures = 0;
    if (!this.#paused) return;
    this.#paused = false;
    this.#listener?.onProducerResume();
  }

  /** The connection is down: pause (once) without counting a failure. */
  down(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#listener?.onProducerPause();
  }

  /** Records a failure; returns how long to wait before the next try, in milliseconds. */
  failed(error: unknown): number {
    this.#failures++;
    if (!this.#paused) {
      this.#paused = true;
      this.#listener?.onProducerPause();
    }
    this.#throttle.doOrDiscard(() =>
      this.logger.error({ err: error instanceof Error ? error.message : String(error) }, `${this.what} failed`),
    );
    return backoffDelay(RECONNECT, this.#failures);
  }
}
