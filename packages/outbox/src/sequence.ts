import { LogFullError } from '@q/log';
import { readSeqFloor, writeSeqFloor } from './outbox-id-file.js';

/** Sequence numbers reserved per write of the `SEQ` file. */
export const RESERVATION = 65_536;
/** Least time between two tries of a reservation ahead of need after one failed (a full disk). */
const RETRY_AHEAD_MS = 1000;

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
  /** When a reservation ahead of need last failed (`performance.now()`). */
  #failedAt = Number.NEGATIVE_INFINITY;

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
    try {
      await counter.reserve(1);
    } catch (err) {
      // A full disk must not keep the outbox from opening (its backlog still needs forwarding): the
      // first send that needs a seq tries again, under `whenFull`.
      if (!(err instanceof LogFullError)) throw err;
    }
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
    // After a failed one, not before a pause: on a full disk every take would try the file again.
    if (
      this.#floor - this.#next < RESERVATION / 2 &&
      this.#writing === undefined &&
      performance.now() - this.#failedAt > RETRY_AHEAD_MS
    )
      this.reserve(RESERVATION / 2).catch(() => {
        this.#failedAt = performance.now();
      });
    return first;
  }

  /**
   * Makes sure the next `n` seqs are covered by a durable floor (one write at a time). A full disk
   * (`ENOSPC`, `EDQUOT`) rejects with `LogFullError` (the error as `cause`), as the log's own appends do,
   * so `whenFull` applies alike: wait for space, or `OutboxFullError`.
   */
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
          const code = (err as NodeJS.ErrnoException | null)?.code;
          if (code === 'ENOSPC' || code === 'EDQUOT')
            throw new LogFullError(`No space to reserve sequence numbers in ${this.#dir}/SEQ (${code})`, {
              cause: err,
            });
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
