import { decodeRun, frameSize } from './format.js';
import type { LogRecord } from './record.js';
import { type BudgetedCache, type BudgetedGroup, budgetHooks, type TailCacheBudget } from './tail-cache-budget.js';

/** A group as written: its frames, sealed, in a buffer of its own. */
interface Chunk {
  readonly firstSeq: number;
  readonly endSeq: number;
  readonly buf: Buffer;
  /** What a shared budget lists for it (not the chunk: the budget must not keep `buf` alive). */
  readonly ticket: BudgetedGroup;
  /** Where the last read from this chunk stopped, so the next one starts there without hopping frames. */
  hintSeq: number;
  hintPos: number;
}

/**
 * The newest groups of the log, kept in memory as written, for the readers that follow the tail: a reader
 * that keeps up (the outbox's forwarder, a live `reader()`) gets records without a read from disk, a
 * thread-pool hop or a CRC check (the frames never left memory). Only groups already readable are kept, so
 * the cache never shows what a reader from disk could not; a failed write never gets here.
 *
 * Copying a group costs little against reading it back, but nothing when no reader is near the tail: the
 * cache keeps groups only while some read has reached what it holds (or, empty, the group being added),
 * so a reader stalled behind a down sink turns it off until a read catches up again, and a log nobody
 * reads keeps nothing. Each read gets its own copy of the frames it returns, as a read from disk does.
 */
export class TailCache implements BudgetedCache {
  readonly #budget: number;
  readonly #shared: TailCacheBudget | undefined;
  /** Held groups from `#head` on; evicted slots are emptied at once, so nothing evicted stays alive. */
  #chunks: (Chunk | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  /** The furthest any read reached (the seq after its last record, or where it found nothing); -1: none yet. */
  #readEnd = -1;

  /**
   * @param budget bytes of frames kept at most; 0 keeps nothing.
   * @param shared memory shared with other logs' caches: this one gives up its oldest groups while they
   *   hold more than it allows.
   */
  constructor(budget: number, shared?: TailCacheBudget) {
    this.#budget = budget;
    this.#shared = shared;
  }

  /** First seq held (Infinity when empty). */
  get firstSeq(): number {
    return this.#head < this.#chunks.length ? (this.#chunks[this.#head] as Chunk).firstSeq : Number.POSITIVE_INFINITY;
  }

  /** Seq after the last held. */
  get endSeq(): number {
    return this.#head < this.#chunks.length ? (this.#chunks[this.#chunks.length - 1] as Chunk).endSeq : 0;
  }

  /** Bytes of the groups this cache keeps alive (what it holds, and anything evicted but still referenced). */
  get retainedBytes(): number {
    let n = 0;
    for (const c of this.#chunks) n += c?.buf.length ?? 0;
    return n;
  }

  /** A read reached `seq`. */
  readTo(seq: number): void {
    if (seq > this.#readEnd) this.#readEnd = seq;
  }

  /**
   * The group `[firstSeq, endSeq)` became readable; `frames` is the writer's buffer, copied here (the
   * writer reuses it). Every readable group comes here, in seq order, so what is held is contiguous.
   */
  add(firstSeq: number, endSeq: number, frames: Buffer): void {
    const shared = this.#shared;
    // Nothing held, or nobody read what is: nothing to keep unless a read reached this group.
    if (
      frames.length > this.#budget ||
      (shared !== undefined && frames.length > budgetHooks.limit(shared)) ||
      this.#readEnd < Math.min(this.firstSeq, firstSeq)
    ) {
      this.clear();
      return;
    }
    const buf = Buffer.allocUnsafe(frames.length);
    frames.copy(buf);
    const ticket: BudgetedGroup = { bytes: buf.length, held: true };
    this.#chunks.push({ firstSeq, endSeq, buf, ticket, hintSeq: firstSeq, hintPos: 0 });
    this.#bytes += buf.length;
    if (shared !== undefined) budgetHooks.added(shared, this, ticket);
    while (this.#bytes > this.#budget) this.#evictHead();
    // Past the shared limit the oldest groups of all sharing caches go, this one's included.
    if (shared !== undefined) budgetHooks.makeRoom(shared);
    if (this.#head === this.#chunks.length) this.clear();
    else if (this.#head > 64 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }

  /** {@link BudgetedCache.evictOldest}: the shared budget takes this cache's oldest group. */
  evictOldest(group: BudgetedGroup): void {
    // Always the oldest held (groups go in the order they came, and a cache only drops its oldest or all);
    // anything else would be a bug, met by dropping everything rather than accounting wrongly.
    if (this.#chunks[this.#head]?.ticket === group) this.#evictHead();
    else this.clear();
  }

  #evictHead(): void {
    const { ticket } = this.#chunks[this.#head] as Chunk;
    ticket.held = false;
    this.#bytes -= ticket.bytes;
    this.#chunks[this.#head++] = undefined;
    if (this.#shared !== undefined) budgetHooks.released(this.#shared, ticket.bytes, 1);
  }

  /** Drops everything held. */
  clear(): void {
    const groups = this.#chunks.length - this.#head;
    for (let i = this.#head; i < this.#chunks.length; i++) (this.#chunks[i] as Chunk).ticket.held = false;
    if (this.#shared !== undefined && groups > 0) budgetHooks.released(this.#shared, this.#bytes, groups);
    this.#chunks.length = 0;
    this.#head = 0;
    this.#bytes = 0;
  }

  /**
   * Appends to `out` the records from `seq` (which must be held) on, up to `max` in `out` and `maxBytes` of
   * bodies (`bodyBytes` counted so far; one record at least). Returns the body bytes, or -1 when `maxBytes`
   * stopped it.
   */
  read(seq: number, max: number, maxBytes: number, bodyBytes: number, out: LogRecord[]): number {
    let i = this.#find(seq);
    while (i < this.#chunks.length && out.length < max) {
      const c = this.#chunks[i] as Chunk;
      let cur = c.firstSeq;
      let pos = 0;
      if (c.hintSeq <= seq) {
        cur = c.hintSeq;
        pos = c.hintPos;
      }
      for (; cur < seq; cur++) pos += frameSize(c.buf, pos);
      let end = pos;
      let endSeq = cur;
      const ends: number[] = [];
      for (const last = Math.min(c.endSeq, cur + max - out.length); endSeq < last; endSeq++) {
        end += frameSize(c.buf, end);
        ends.push(end);
      }
      // A copy per read, as a read from disk gets: bodies are views, and one reader changing (or
      // transferring) its own must not reach another reader's records.
      const own = Buffer.allocUnsafe(end - pos);
      c.buf.copy(own, 0, pos, end);
      const before = out.length;
      const taken = decodeRun(own, 0, end - pos, cur, out, bodyBytes, maxBytes, 'memory', 0);
      const got = out.length - before;
      c.hintSeq = cur + got;
      c.hintPos = got === 0 ? pos : (ends[got - 1] as number);
      if (taken < 0) return -1;
      bodyBytes = taken;
      seq = cur + got;
      if (seq < c.endSeq) break;
      i++;
    }
    return bodyBytes;
  }

  /** Index of the chunk holding `seq` (held: between firstSeq and endSeq). */
  #find(seq: number): number {
    let lo = this.#head;
    let hi = this.#chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.#chunks[mid] as Chunk).firstSeq <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
