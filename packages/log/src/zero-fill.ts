import * as fs from 'node:fs';
import type { Logger } from '@q/core';
import { fdatasync, ftruncate } from './fs-util.js';
import type { Segment } from './segment.js';

/** Zeros written by every log of the process, as many times over as a fill needs (never written to). */
const ZEROS_BYTES = 64 * 1024;
let zeros: Buffer | undefined;

/** A fill writes at least this much (or the whole window when smaller), at most the window. */
const MIN_FILL = 64 * 1024;
/** A fill covers this many groups of the size just written: a quiet log holds 64 KiB of zeros, not 1 MiB. */
const GROUPS_PER_FILL = 32;

/**
 * Groups larger than `windowBytes / SMALL_GROUP_DIVISOR` do not start a fill: the journal commit an
 * append costs is a fixed ~100 µs, so only small synced writes gain from overwriting, while zeros
 * written ahead of large groups would take as much disk bandwidth as the data itself.
 */
const SMALL_GROUP_DIVISOR = 16;

/**
 * Keeps the active segment zero-filled ahead of the writer (with `sync: 'always'`), as databases
 * preallocate their write-ahead logs. A synced write that grows a file must also commit the new size
 * to the file system's journal; one into blocks already written and synced need not: on the machine
 * the benchmarks run on, an `O_DSYNC` write of 10 KB took 180–205 µs into such blocks and 280–320 µs
 * appending, which is most of a small group's cycle.
 *
 * Only segments whose header carries `SEGMENT_ZERO_FILLED` are filled, so recovery knows which rules
 * apply: zeros are never mistaken for records (a frame's length field is at least 22), a zeros-only
 * tail is cut quietly, and a hole in the last write is told from damage (see `zero-tail.ts`). The tail
 * is cut whenever the segment is sealed or the log closes, so sealed segments and a cleanly closed log
 * hold records only. A fill covers 32 groups of the size just written (64 KiB at least, `windowBytes`
 * at most), so a quiet log holds little; the zeros come from one shared 64 KiB buffer.
 *
 * One fill runs at a time, in the background, and never where data is or will be written first: it
 * starts at the end of the data or of the zeros, whichever is further, only between two group writes,
 * and a group that would reach into a fill still under way waits for it. A failed fill (a full disk)
 * stops filling this segment; it costs speed, never records.
 */
export class ZeroFill {
  readonly #window: number;
  readonly #limit: number;
  readonly #logger: Logger;
  /** The segment being filled, and how far its file holds synced zeros (or data). */
  #segment: Segment | undefined;
  #zeroedTo = 0;
  #failed = false;
  #fill: { readonly from: number; readonly done: Promise<void> } | undefined;

  /** `windowBytes` ahead of the data (0: never), no further than `limit` (the segment size). */
  constructor(windowBytes: number, limit: number, logger: Logger) {
    this.#window = windowBytes;
    this.#limit = limit;
    this.#logger = logger;
  }

  /** Resolves once no fill under way overlaps `[from, to)` of `seg` (undefined: nothing to wait for). */
  beforeWrite(seg: Segment, to: number): Promise<void> | undefined {
    const fill = this.#fill;
    return fill !== undefined && this.#segment === seg && to > fill.from ? fill.done : undefined;
  }

  /** After a group of `groupBytes` was written to `seg` (durable): starts a fill when the zeros run short. */
  afterWrite(seg: Segment, groupBytes: number): void {
    if (this.#window === 0 || this.#fill !== undefined || !seg.zeroFilled) return;
    if (this.#segment !== seg) {
      this.#segment = seg;
      this.#zeroedTo = seg.size;
      this.#failed = false;
    }
    if (this.#failed || groupBytes > this.#window / SMALL_GROUP_DIVISOR) return;
    const ahead = Math.min(this.#window, Math.max(MIN_FILL, GROUPS_PER_FILL * groupBytes));
    const from = Math.max(this.#zeroedTo, seg.size);
    if (from - seg.size >= ahead / 2 || from >= this.#limit) return;
    const to = Math.min(from + ahead, this.#limit);
    const fd = seg.fdIfOpen;
    if (fd === undefined) return;
    const done = this.#write(fd, seg, from, to).finally(() => {
      this.#fill = undefined;
    });
    this.#fill = { from, done };
  }

  async #write(fd: number, seg: Segment, from: number, to: number): Promise<void> {
    try {
      await writeZeros(fd, from, to);
      if (!seg.dsync) await fdatasync(fd);
      if (this.#segment === seg) this.#zeroedTo = to;
    } catch (err) {
      if (this.#segment === seg) this.#failed = true;
      this.#logger.warn({ err, segment: seg.name }, 'log: could not zero-fill ahead of the writer; appending instead');
      // Give back what part of it reached the disk (on a full disk another file may need it). No group
      // reaches past `from` while this runs: one that would waits for it.
      await ftruncate(fd, from).catch(() => undefined);
    }
  }

  /**
   * Waits for a fill under way and cuts the zeros after the data of `seg` (synced), before it is sealed
   * or closed: a sealed segment is trusted by its size, and a reopen should find records only. Also
   * after a failed group write, whose cut must not be undone by a fill.
   */
  async trim(seg: Segment, fd: number): Promise<void> {
    await this.#fill?.done;
    if (this.#segment !== seg) return;
    const filled = this.#zeroedTo > seg.size || this.#failed;
    this.#segment = undefined;
    this.#zeroedTo = 0;
    if (!filled) return;
    await ftruncate(fd, seg.size);
    await fdatasync(fd);
  }
}

/** Writes zeros over `[from, to)` of `fd`: one `writev` of the shared zero buffer, looping over short writes. */
async function writeZeros(fd: number, from: number, to: number): Promise<void> {
  zeros ??= Buffer.alloc(ZEROS_BYTES);
  const buf = zeros;
  for (let at = from; at < to; ) {
    const n = Math.min(to - at, 1024 * ZEROS_BYTES);
    const parts: Buffer[] = [];
    for (let left = n; left > 0; left -= ZEROS_BYTES) parts.push(left >= ZEROS_BYTES ? buf : buf.subarray(0, left));
    at += await new Promise<number>((resolve, reject) =>
      fs.writev(fd, parts, at, (err, written) => (err ? reject(err) : resolve(written))),
    );
  }
}
