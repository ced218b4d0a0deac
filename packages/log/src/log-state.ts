import type { Logger } from '@q/core';
import { MAX_OPEN_SEGMENTS, SegmentFdCache } from './fd-cache.js';
import type { ResolvedLogOptions } from './options.js';
import type { Segment } from './segment.js';
import { TailCache } from './tail-cache.js';

/**
 * What the parts of a {@link SegmentLog} share: the segments, the seq counters, the failure that stopped
 * the log, and one wake-up list for everyone waiting on a change (readers for new durable records, a
 * blocked writer for room).
 */
export class LogState {
  readonly options: ResolvedLogOptions;
  readonly segDir: string;
  readonly logger: Logger;
  /** Segments in seq order; the last is the active one, being appended to. */
  readonly segments: Segment[];
  /** Seq the next record written gets. */
  nextSeq: number;
  /** Seqs below are readable: written and, for `sync: 'always'`, synced. */
  durableSeq: number;
  /** Bytes of all segment files. */
  bytes: number;
  /** The error that stopped the log (a failed fsync); every later append gets it. */
  fatal: Error | undefined = undefined;
  /** Set by `close()`: no new appends, readers end. */
  closed = false;
  /** Positions of the live readers: retention keeps every segment at or after the lowest. */
  readonly readers = new Set<{ position: number }>();
  /** Descriptors of sealed segments opened for reading, at most {@link MAX_OPEN_SEGMENTS} kept. */
  readonly fds: SegmentFdCache;
  /** The newest groups in memory, for readers that keep up with the writer. */
  readonly tail: TailCache;
  #waiters: Array<() => void> = [];
  #reads = 0;
  #readsIdle: (() => void) | undefined;

  constructor(options: ResolvedLogOptions, segDir: string, logger: Logger, segments: Segment[], nextSeq: number) {
    this.options = options;
    this.segDir = segDir;
    this.logger = logger;
    this.segments = segments;
    this.nextSeq = nextSeq;
    this.durableSeq = nextSeq;
    this.bytes = segments.reduce((n, s) => n + s.size, 0);
    this.fds = new SegmentFdCache(MAX_OPEN_SEGMENTS, (s) => s === this.active);
    this.tail = new TailCache(options.tailCacheBytes, options.tailCacheBudget);
    for (const s of segments) this.adopt(s);
  }

  /** Registers a segment with the descriptor cache; the writer calls it for each new segment. */
  adopt(segment: Segment): void {
    segment.fdCache = this.fds;
  }

  /** The segment being appended to. */
  get active(): Segment {
    return this.segments[this.segments.length - 1] as Segment;
  }

  /** Lowest seq still stored. */
  get firstSeq(): number {
    for (const s of this.segments) if (s.endSeq > s.firstSeq) return s.firstSeq;
    return this.nextSeq;
  }

  /** Resolves on the next {@link LogState.notify} (new durable records, deleted segments, close). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Wakes everyone waiting in {@link LogState.changed}. */
  notify(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /**
   * Counts a read under way: `close()` waits for it before it closes the segments' descriptors, so a read
   * never uses a closed (or reused) fd, nor reopens a segment after close. False once closed.
   */
  beginRead(): boolean {
    if (this.closed) return false;
    this.#reads++;
    return true;
  }

  /** Ends a read counted by {@link LogState.beginRead}. */
  endRead(): void {
    if (--this.#reads === 0 && this.#readsIdle !== undefined) {
      const idle = this.#readsIdle;
      this.#readsIdle = undefined;
      idle();
    }
  }

  /** Resolves when no read is under way (call after setting `closed`, so none starts after). */
  readsIdle(): Promise<void> {
    if (this.#reads === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.#readsIdle;
      this.#readsIdle = () => {
        prev?.();
        resolve();
      };
    });
  }

  /** The segment holding `seq` (or the first after it when `seq` falls in a gap); undefined past the end. */
  segmentIndexFor(seq: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.segments[mid] as Segment).firstSeq <= seq) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const s = this.segments[found] as Segment;
    return seq >= s.endSeq && found < this.segments.length - 1 ? found + 1 : found;
  }
}
