import { readSeqFloor, writeSeqFloor } from './outbox-id-file.js';

/** Sequence numbers reserved per write of the `SEQ` file. */
export const RESERVATION = 65_536;

/**
 * Hands out sequence numbers that never repeat across restarts, for messages whose seq is not the log's
 * (direct-first sends never reach the log). `<dir>/SEQ` holds a floor: every seq below it may have been
 * used. A seq at or above the stored floor is only handed out after a higher floor is durable, so after a
 * crash the next open starts at or above everything used: `max(floor, log.nextSeq)`. Gaps are fine, a
 * lower id after a higher one is not.
 */
export class SequenceCounter {
  readonly #dir: string;
  #next: number;
  /** The floor stored in `SEQ`: seqs below it may be handed out. */
  #floor: number;
  #writing: Promise<void> | undefined;

  private constructor(dir: string, next: number, floor: number) {
    this.#dir = dir;
    this.#next = next;
    this.#floor = floor;
  }

  /**
   * The counter of `dir`: loaded from its `SEQ` file, or created there when `create` (direct-first);
   * undefined when there is no `SEQ` file and none is to be made (write-ahead uses the log's seqs).
   */
  static async open(dir: string, logNextSeq: number, create: boolean): Promise<SequenceCounter | undefined> {
    const stored = await readSeqFloor(dir);
    if (stored === undefined && !create) return undefined;
    const next = Math.max(stored ?? 0, logNextSeq);
    const counter = new SequenceCounter(dir, next, stored ?? 0);
    await counter.reserve(1);
    return counter;
  }

  /** The seq the next `take` returns. */
  get next(): number {
    return this.#next;
  }

  /** Whether the next `n` seqs can be taken without waiting for the `SEQ` file. */
  covers(n: number): boolean {
    return this.#next + n <= this.#floor;
  }

  /**
   * The first of `n` contiguous seqs, or undefined when the reservation does not cover them yet (then
   * `await reserve(n)` and take again). Synchronous, so a caller can append in the order it took.
   */
  take(n = 1): number | undefined {
    const first = this.#next;
    if (first + n > this.#floor) return undefined;
    this.#next = first + n;
    // Reserve ahead, so senders rarely wait for the file.
    // A failure here is met again, and reported, by the take that finds the reservation used up.
    if (this.#floor - this.#next < RESERVATION / 2 && this.#writing === undefined)
      this.reserve(RESERVATION / 2).catch(() => undefined);
    return first;
  }

  /** Makes sure the next `n` seqs are covered by a durable floor (one write at a time). */
  async reserve(n: number): Promise<void> {
    while (this.#next + n > this.#floor) {
      if (this.#writing !== undefined) {
        await this.#writing;
        continue;
      }
      const floor = this.#next + Math.max(n, RESERVATION);
      this.#writing = writeSeqFloor(this.#dir, floor).then(
        () => {
          this.#floor = Math.max(this.#floor, floor);
          this.#writing = undefined;
        },
        (err: unknown) => {
          this.#writing = undefined;
          throw err;
        },
      );
      await this.#writing;
    }
  }

  /** Resolves when no write of the `SEQ` file is under way. */
  async idle(): Promise<void> {
    await this.#writing?.catch(() => undefined);
  }
}
