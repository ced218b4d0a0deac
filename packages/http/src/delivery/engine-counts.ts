import { WorkCount } from './work-count.js';

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

/** The engine's running counts (what `DeliveryEngine.stats()` reports). */
export class EngineCounts {
  /** Attempts in flight. */
  inFlight = 0;
  /** Dead letters being written. */
  finishing = 0;
  /** Attempts in flight and dead letters being written: what `DeliveryEngine.idle()` waits for. */
  readonly busy = new WorkCount();
  delivered = 0;
  retried = 0;
  deadLettered = 0;

  attemptStarted(): void {
    this.inFlight++;
    this.busy.enter();
  }

  /** Counted as busy until a microtask after the verdict, so the retry or dead letter it starts is seen first. */
  attemptEnded(): void {
    this.inFlight--;
    queueMicrotask(() => this.busy.leave());
  }

  writeStarted(): void {
    this.finishing++;
    this.busy.enter();
  }

  /** As {@link EngineCounts.attemptEnded}: what the write's end starts (the key's next item) is seen first. */
  writeEnded(): void {
    this.finishing--;
    queueMicrotask(() => this.busy.leave());
  }

  /** The counts, with the items waiting among `open` unfinished ones. */
  snapshot(open: number): EngineStats {
    const { inFlight, delivered, retried, deadLettered } = this;
    return { inFlight, waiting: Math.max(0, open - inFlight - this.finishing), delivered, retried, deadLettered };
  }
}
