/** How often a window three quarters full looks for records to park. */
const PARK_POLL_MS = 100;
/**
 * The least time between two park rounds the reader starts: a round walks the whole window, and a round
 * per stored batch (a few ms) would cost the healthy records their CPU.
 */
const PARK_GAP_MS = 20;

/**
 * When a delivery run starts its park rounds: one at a time, once the window is three quarters full (so
 * reading need not stop while a round is stored), from a poll every 100 ms (records only become parkable
 * once an attempt failed) and from the reader, but not sooner than 20 ms after the last round, nor 100 ms
 * after one that parked nothing: a window of records in flight would otherwise be walked again for every
 * record read. Records of parked keys waiting for a round start one however full the window is (they
 * must not wait for it to fill), within the same gaps.
 */
export class ParkSchedule {
  readonly #from: number;
  readonly #size: () => number;
  readonly #round: (full: boolean) => Promise<boolean>;
  readonly #error: (err: unknown) => void;
  readonly #urgent: () => boolean;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = false;
  /** The reader starts no round before this instant (the poll still does). */
  #quietUntil = 0;

  /**
   * @param size the run's unfinished records now
   * @param round one park round (`full`: the window is three quarters full); resolves true when it parked something
   * @param urgent whether records wait for a round however full the window is (records of parked keys)
   */
  constructor(
    maxUnfinished: number,
    size: () => number,
    round: (full: boolean) => Promise<boolean>,
    error: (err: unknown) => void,
    urgent: () => boolean,
  ) {
    this.#from = Math.max(1, Math.ceil((maxUnfinished * 3) / 4));
    this.#size = size;
    this.#round = round;
    this.#error = error;
    this.#urgent = urgent;
  }

  /** Starts the poll (once). */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setInterval(() => this.kick(true), PARK_POLL_MS);
    this.#timer.unref();
  }

  /** Starts a round if one is due; `polled` from the poll, which ignores the quiet time. */
  kick(polled = false): void {
    const full = this.#size() >= this.#from;
    if (this.#running || this.#stopped || (!full && !this.#urgent())) return;
    const now = Date.now();
    if (!polled && now < this.#quietUntil) return;
    this.#quietUntil = now + PARK_GAP_MS;
    this.#running = true;
    this.#round(full)
      .then((parked) => {
        if (!parked) this.#quietUntil = Date.now() + PARK_POLL_MS;
      }, this.#error)
      .finally(() => {
        this.#running = false;
      });
  }

  /** No more rounds (one under way finishes). */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
}
