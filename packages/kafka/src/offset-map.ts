import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * The offset map: which offsets above a partition's commit point were already settled, carried in
 * the commit's metadata string (Confluent Parallel Consumer's idea). A commit can only say "read on
 * from the first unsettled message"; without the map, whoever reads the partition next redoes
 * everything settled above that point, which in key mode is most of what was fetched.
 *
 * Wire format (then base64url, no padding, so it stays one ASCII string):
 *   byte 0   version (1)
 *   byte 1   encoding: 1 = bitmap, 2 = runs, 3 = bitmap compressed with raw deflate
 *   varint   the base: the committed offset the map is relative to
 *   bitmap:  bit d (least significant first) of byte d >> 3 set = offset base + d settled
 *   runs:    varint lengths, alternating unsettled and settled, starting with unsettled (may be 0)
 *            and ending with settled
 * The smallest is written; deflate only when neither plain form fits: in key mode the settled
 * offsets follow the keys' interleaving, and a bitmap of tens of thousands of offsets compresses to
 * a fraction of the 4 KiB. The base is checked against the committed offset on the way
 * back in, so metadata written by anything else (or left behind by an offset reset) is ignored
 * rather than taken for a list of offsets to skip.
 */

/** Kafka's default `offset.metadata.max.bytes`: longer metadata is refused (OFFSET_METADATA_TOO_LARGE). */
export const DEFAULT_METADATA_BUDGET = 4096;

const VERSION = 1;
const BITMAP = 1;
const RUNS = 2;
const DEFLATED = 3;
/** Widest range a (compressed) bitmap covers: 128 KiB uncompressed, so decoding stays bounded. */
const MAX_BITMAP_BITS = 1 << 20;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: number[], n: number): void {
  // Division instead of shifts: run lengths and offsets may exceed 2^31.
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

function writeBigVarint(out: number[], n: bigint): void {
  while (n >= 128n) {
    out.push(Number(n & 127n) | 128);
    n >>= 7n;
  }
  out.push(Number(n));
}

/**
 * Collects the settled offsets above a base, in increasing order, and writes the smallest encoding
 * that fits a metadata budget. Built once per commit, never per message.
 */
export class OffsetMapBuilder {
  readonly #base: bigint;
  readonly #header: number;
  /** Raw bytes that fit the budget once base64url-encoded. */
  readonly #maxBytes: number;
  /** Alternating unsettled and settled run lengths (deltas from the base), ending with a settled run. */
  readonly #runs: number[] = [];
  #runBytes = 0;
  /** One past the highest settled delta. */
  #end = 0;
  #count = 0;

  /**
   * @param base The commit point the map is relative to.
   * @param budget Maximum metadata length in characters (the broker's `offset.metadata.max.bytes`).
   */
  constructor(base: bigint, budget = DEFAULT_METADATA_BUDGET) {
    this.#base = base;
    const header: number[] = [];
    writeBigVarint(header, base);
    this.#header = 2 + header.length;
    this.#maxBytes = Math.floor((budget * 3) / 4);
  }

  /** Settled offsets added so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * True once neither encoding can hold anything more: the caller stops scanning there, so a commit
   * never walks a partition's whole backlog for offsets that could not be written anyway.
   */
  get full(): boolean {
    return this.#end > MAX_BITMAP_BITS && this.#header + this.#runBytes > this.#maxBytes;
  }

  /** Adds one settled offset, given as its distance from the base; distances must increase. */
  add(delta: number): void {
    this.addRange(delta, delta + 1);
  }

  /** Adds the settled offsets `base + start` up to (not including) `base + end`; ranges must increase. */
  addRange(start: number, end: number): void {
    if (!(start >= this.#end && end > start)) return;
    const runs = this.#runs;
    if (start === this.#end && runs.length > 0) {
      const last = runs.length - 1;
      this.#runBytes += varintSize((runs[last] as number) + end - start) - varintSize(runs[last] as number);
      runs[last] = (runs[last] as number) + end - start;
    } else {
      runs.push(start - this.#end, end - start);
      this.#runBytes += varintSize(start - this.#end) + varintSize(end - start);
    }
    this.#count += end - start;
    this.#end = end;
  }

  /**
   * The metadata string: the smaller encoding if it fits, else the longest prefix of either that
   * fits (whichever covers more settled offsets), or undefined when nothing above the base was
   * settled or not even one run fits. A prefix only leaves out offsets (they are redone after a
   * crash); it never claims one that was not settled.
   */
  encode(): string | undefined {
    if (this.#count === 0) return undefined;
    const room = this.#maxBytes - this.#header;
    const bitmapBytes = Math.ceil(this.#end / 8);
    if (this.#runBytes <= bitmapBytes && this.#runBytes <= room) return this.#write(RUNS, this.#runs);
    if (bitmapBytes <= room) return this.#write(BITMAP, this.#bitmap(bitmapBytes));
    // Too big for either plain form. Compressed, the whole bitmap may fit; if not, the longest prefix
    // of each form that fits is worked out and the one covering most settled offsets is written.
    const bits = this.#bitmap(Math.min(bitmapBytes, MAX_BITMAP_BITS / 8));
    const whole = deflateRawSync(bits);
    if (whole.length <= room && bits.length === bitmapBytes) return this.#write(DEFLATED, whole);
    // Runs: as many whole (unsettled, settled) pairs as fit.
    let pairs = 0;
    let inRuns = 0;
    let bytes = 0;
    for (let i = 0; i < this.#runs.length; i += 2) {
      bytes += varintSize(this.#runs[i] as number) + varintSize(this.#runs[i + 1] as number);
      if (bytes > room) break;
      pairs++;
      inRuns += this.#runs[i + 1] as number;
    }
    // Compressed bitmap: the longest prefix whose deflate fits (binary search; at least the plain room).
    let low = Math.max(0, room);
    let high = bits.length;
    let best: Buffer | undefined;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      const packed = deflateRawSync(bits.subarray(0, mid));
      if (packed.length <= room) {
        low = mid;
        best = packed;
      } else high = mid - 1;
    }
    const inBitmap = this.#countBelow(8 * low);
    if (inRuns === 0 && inBitmap === 0) return undefined;
    if (inRuns >= inBitmap) return this.#write(RUNS, this.#runs.slice(0, pairs * 2));
    return best === undefined || low <= room
      ? this.#write(BITMAP, bits.subarray(0, Math.max(0, room)))
      : this.#write(DEFLATED, deflateRawSync(bits.subarray(0, low)));
  }

  /** Settled offsets at distances below `limit`. */
  #countBelow(limit: number): number {
    let n = 0;
    let at = 0;
    for (let i = 0; i < this.#runs.length && at < limit; i += 2) {
      const start = at + (this.#runs[i] as number);
      at = start + (this.#runs[i + 1] as number);
      if (start < limit) n += Math.min(at, limit) - start;
    }
    return n;
  }

  /** The first `size` bytes of the bitmap. */
  #bitmap(size: number): Uint8Array {
    const bits = new Uint8Array(size);
    const limit = size * 8;
    let at = 0;
    for (let i = 0; i < this.#runs.length && at < limit; i += 2) {
      const start = at + (this.#runs[i] as number);
      at = start + (this.#runs[i + 1] as number);
      for (let d = start; d < at && d < limit; d++) bits[d >> 3] = (bits[d >> 3] as number) | (1 << (d & 7));
    }
    return bits;
  }

  #write(encoding: number, body: readonly number[] | Uint8Array): string {
    const out: number[] = [VERSION, encoding];
    writeBigVarint(out, this.#base);
    if (encoding === RUNS) for (const n of body) writeVarint(out, n);
    else for (const b of body) out.push(b);
    return Buffer.from(out).toString('base64url');
  }
}

/** Longest metadata this module could ever need to look at: anything longer is not ours. */
const MAX_DECODE_CHARS = 1 << 20;
/** Offsets beyond this lose precision as numbers: no map is kept for them (commits still work). */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

/**
 * A decoded offset map: the settled offsets a partition's new reader skips. `has` is asked once per
 * fetched message, in offset order, so it walks a cursor over sorted ranges: amortized O(1).
 */
export class OffsetSkipSet {
  /** Range starts and ends (exclusive), absolute offsets, sorted and disjoint. */
  readonly #starts: number[];
  readonly #ends: number[];
  #cursor = 0;
  /** How many offsets the set holds. */
  readonly size: number;

  private constructor(starts: number[], ends: number[]) {
    this.#starts = starts;
    this.#ends = ends;
    let size = 0;
    for (let i = 0; i < starts.length; i++) size += (ends[i] as number) - (starts[i] as number);
    this.size = size;
  }

  /**
   * Reads a commit's metadata. Undefined when it is empty, not ours, malformed, or relative to a
   * different offset than the one committed with it: then nothing is skipped.
   */
  static decode(metadata: string | null | undefined, committed: bigint): OffsetSkipSet | undefined {
    if (typeof metadata !== 'string' || metadata.length < 4 || metadata.length > MAX_DECODE_CHARS) return undefined;
    if (!/^[A-Za-z0-9_-]+$/.test(metadata)) return undefined;
    const bytes = Buffer.from(metadata, 'base64url');
    if (bytes.length < 3 || bytes[0] !== VERSION) return undefined;
    const encoding = bytes[1];
    let at = 2;
    let base = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length || shift > 63n) return undefined;
      const b = bytes[at++] as number;
      base |= BigInt(b & 127) << shift;
      if (b < 128) break;
    }
    if (base !== committed || base > BigInt(MAX_OFFSET)) return undefined;
    const origin = Number(base);
    const starts: number[] = [];
    const ends: number[] = [];
    if (encoding === BITMAP || encoding === DEFLATED) {
      let bits: Uint8Array = bytes.subarray(at);
      if (encoding === DEFLATED) {
        try {
          bits = inflateRawSync(bits, { maxOutputLength: MAX_BITMAP_BITS / 8 });
        } catch {
          return undefined;
        }
      }
      if (origin + bits.length * 8 > MAX_OFFSET) return undefined;
      for (let i = 0; i < bits.length; i++) {
        const b = bits[i] as number;
        if (b === 0) continue;
        for (let bit = 0; bit < 8; bit++) {
          if ((b & (1 << bit)) === 0) continue;
          const offset = origin + i * 8 + bit;
          if (ends.length > 0 && ends[ends.length - 1] === offset) ends[ends.length - 1] = offset + 1;
          else {
            starts.push(offset);
            ends.push(offset + 1);
          }
        }
      }
    } else if (encoding === RUNS) {
      let offset = origin;
      let settled = false;
      while (at < bytes.length) {
        let n = 0;
        for (let scale = 1; ; scale *= 128) {
          if (at >= bytes.length || scale > 2 ** 49) return undefined;
          const b = bytes[at++] as number;
          n += (b & 127) * scale;
          if (b < 128) break;
        }
        // Only the first unsettled run may be empty; an empty settled run is not something we write.
        if (n === 0 && (settled || starts.length > 0)) return undefined;
        if (offset + n > MAX_OFFSET) return undefined;
        if (settled) {
          starts.push(offset);
          ends.push(offset + n);
        }
        offset += n;
        settled = !settled;
      }
      if (settled) return undefined; // ended on an unsettled run: not ours
    } else return undefined;
    return starts.length === 0 ? undefined : new OffsetSkipSet(starts, ends);
  }

  /**
   * Whether `offset` was settled. Cheapest when asked in increasing order (the fetch order); an
   * offset below the last one asked (a re-fetch) starts the walk over.
   */
  has(offset: number): boolean {
    const starts = this.#starts;
    const ends = this.#ends;
    let i = this.#cursor;
    if (i > 0 && offset < (ends[i - 1] as number)) i = 0;
    while (i < ends.length && (ends[i] as number) <= offset) i++;
    this.#cursor = i;
    return i < ends.length && (starts[i] as number) <= offset;
  }

  /** One past the highest offset in the set: past it, the set has nothing more to say. */
  get end(): number {
    return this.#ends[this.#ends.length - 1] as number;
  }

  /** Calls `f` for each range `[start, end)` at or above `from`, in order (clipped at `from`). */
  forEachFrom(from: number, f: (start: number, end: number) => void): void {
    for (let i = 0; i < this.#starts.length; i++) {
      const end = this.#ends[i] as number;
      if (end <= from) continue;
      f(Math.max(from, this.#starts[i] as number), end);
    }
  }
}
