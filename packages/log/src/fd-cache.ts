import type { Segment } from './segment.js';

/**
 * How many sealed segments keep a descriptor open for reading. A replay of a long log opens each segment
 * it passes; without a bound a log of thousands of segments would hold thousands of descriptors (and run
 * into `ulimit -n`). Reopening an evicted segment costs one `open`, once per segment a reader enters.
 */
export const MAX_OPEN_SEGMENTS = 64;

/**
 * The descriptors of sealed segments, least recently used first: when more than `max` are open, the oldest
 * ones nobody is reading (`refs === 0`) are closed. The segment being appended to is never closed here.
 */
export class SegmentFdCache {
  readonly #max: number;
  readonly #isActive: (segment: Segment) => boolean;
  /** A Set keeps insertion order: delete + add moves a segment to the most recently used end. */
  readonly #open = new Set<Segment>();

  constructor(max: number, isActive: (segment: Segment) => boolean) {
    this.#max = max;
    this.#isActive = isActive;
  }

  /** Number of segments tracked with an open descriptor. */
  get size(): number {
    return this.#open.size;
  }

  /** Marks `segment` (which has a descriptor open) as just used, and closes the oldest idle ones past `max`. */
  touch(segment: Segment): void {
    this.#open.delete(segment);
    this.#open.add(segment);
    if (this.#open.size <= this.#max) return;
    for (const s of this.#open) {
      if (this.#open.size <= this.#max) break;
      if (s.fdIfOpen === undefined || s.deleted) this.#open.delete(s);
      else if (s.refs === 0 && !this.#isActive(s)) {
        this.#open.delete(s);
        void s.close();
      }
    }
  }
}
