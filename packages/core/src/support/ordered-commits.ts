import { Deque } from '../channel/deque.js';

/** An entry {@link OrderedCommits} tracks: `done` is set once it settled. */
export interface OrderedEntry {
  /** Whether it settled (set by {@link OrderedCommits.settle}, or before {@link OrderedCommits.track}). */
  done: boolean;
}

/**
 * The ordered-commit rule of every at-least-once source that reads in order and commits a
 * position (a Kafka partition's offset, an `@q/log` cursor): messages are tracked in read order and
 * may settle in any order, and what may be committed is always "everything before the lowest
 * unsettled message" — never past unfinished work, so a crash redelivers what was running and
 * never loses it. Committing the highest finished position instead (kq does) loses what was below.
 *
 * Settled entries at the head leave at once, so a long run of finished messages behind a slow
 * one is all that is held; the entry that left last is kept as {@link lastSettled}, and the
 * caller turns it into its own kind of position (`offset + 1`, `seq + 1`). O(1) per track and
 * amortized O(1) per settle.
 */
export class OrderedCommits<E extends OrderedEntry> {
  /** Tracked entries from the first unsettled one on, in read order. Its head is never done. */
  readonly #entries: Deque<E>;
  #lastSettled: E | undefined;

  /** @param initialCapacity Room for this many entries in flight before the ring grows. @default 1024 */
  constructor(initialCapacity = 1024) {
    this.#entries = new Deque<E>(initialCapacity);
  }

  /**
   * Tracks the next entry in read order. An entry already `done` (one a source knows was settled
   * before, such as an offset map's) with nothing unsettled before it moves the watermark at once.
   */
  track(entry: E): void {
    if (entry.done && this.#entries.length === 0) this.#lastSettled = entry;
    else this.#entries.push(entry);
  }

  /**
   * Marks a tracked entry settled. Returns whether the watermark moved (the entry was the lowest
   * unsettled one); settling an entry twice does nothing the second time.
   */
  settle(entry: E): boolean {
    if (entry.done) return false;
    entry.done = true;
    const entries = this.#entries;
    if (entries.peek() !== entry) return false;
    for (let head = entries.peek(); head?.done === true; head = entries.peek()) {
      this.#lastSettled = head;
      entries.shift();
    }
    return true;
  }

  /**
   * The last entry that left the head settled: every entry up to it (in read order) settled, so the
   * position just past it may be committed. Undefined while nothing has.
   */
  get lastSettled(): E | undefined {
    return this.#lastSettled;
  }

  /** The lowest unsettled entry (the one holding the watermark back), or undefined when none is. */
  get head(): E | undefined {
    return this.#entries.peek();
  }

  /** Entries held: the lowest unsettled one and everything tracked after it. */
  get pending(): number {
    return this.#entries.length;
  }

  /** The held entry `index` places from the head (0 is the head), for walks such as an offset map. */
  at(index: number): E | undefined {
    return this.#entries.at(index);
  }
}
