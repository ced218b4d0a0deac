import { OrderedCommits, type OrderedEntry } from '@q/core/internal';

interface Entry extends OrderedEntry {
  readonly seq: number;
}

/**
 * The records a deliverer handed out and has not finished (delivered or dead-lettered), for the cursor's
 * commit rule: {@link Unfinished.lowest} is the lowest unfinished seq, or the next seq to read when
 * everything handed out finished, so committing it never passes unfinished work. Records are handed out in
 * increasing seq order (gaps allowed) and may finish in any order. The rule itself is `@q/core`'s
 * `OrderedCommits` (the same as Kafka partition offsets and `@q/log`'s queue producer).
 */
export class Unfinished {
  readonly #commits = new OrderedCommits<Entry>(1024);
  #next: number;
  #size = 0;

  /** @param next The first seq that will be handed out (the cursor's position). */
  constructor(next: number) {
    this.#next = next;
  }

  /** Records handed out and not finished. */
  get size(): number {
    return this.#size;
  }

  /** The seq after the last one handed out (or the starting position). */
  get next(): number {
    return this.#next;
  }

  /** The lowest unfinished seq, or {@link Unfinished.next} when none is: what a cursor may commit. */
  lowest(): number {
    return this.#commits.head?.seq ?? this.#next;
  }

  /**
   * Tracks `seq` as handed out. Refused (false) unless it is above every seq handed out before and at least
   * the starting position: a seq is never tracked twice, and never below one already tracked.
   */
  add(seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq < this.#next) return false;
    this.#commits.track({ seq, done: false });
    this.#next = seq + 1;
    this.#size++;
    return true;
  }

  /**
   * Marks `seq` finished. Refused (false) when it is not unfinished: never handed out, or finished already.
   * Returns true when it was (and so {@link Unfinished.lowest} may have moved).
   */
  finish(seq: number): boolean {
    const entry = this.#find(seq);
    if (entry === undefined || entry.done) return false;
    this.#commits.settle(entry);
    this.#size--;
    return true;
  }

  /** Whether `seq` was handed out and has not finished. */
  has(seq: number): boolean {
    const entry = this.#find(seq);
    return entry !== undefined && !entry.done;
  }

  /** The held entry of `seq` (held entries are in increasing seq order: a binary search), if any. */
  #find(seq: number): Entry | undefined {
    const commits = this.#commits;
    let lo = 0;
    let hi = commits.pending - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const entry = commits.at(mid) as Entry;
      if (entry.seq === seq) return entry;
      if (entry.seq < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }
}
