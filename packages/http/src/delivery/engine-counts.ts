/** The engine's running counts (what `DeliveryEngine.stats()` reports). */
export class EngineCounts {
  /** Attempts in flight. */
  inFlight = 0;
  /** Dead letters being written. */
  finishing = 0;
  delivered = 0;
  retried = 0;
  deadLettered = 0;

  /** The counts, with the items waiting among `open` unfinished ones. */
  snapshot(open: number): {
    inFlight: number;
    waiting: number;
    delivered: number;
    retried: number;
    deadLettered: number;
  } {
    const { inFlight, delivered, retried, deadLettered } = this;
    return { inFlight, waiting: Math.max(0, open - inFlight - this.finishing), delivered, retried, deadLettered };
  }
}
