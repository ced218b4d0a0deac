import { crc32c, singleBitError } from './crc32c.js';
import { FRAME_OVERHEAD, MAX_RECORD_BYTES_LIMIT, readU32 } from './format.js';
import { readFully } from './fs-util.js';
import { findValidFrameAfter, scanFrames } from './scan.js';

const CHUNK = 1024 * 1024;
/** The unit a disk writes whole: a page of a write cut by a power loss is missing in such blocks. */
const BLOCK = 512;

/**
 * The offset after the last byte of `[from, to)` that is not zero (`from` when all are): zeros after it
 * are the segment's zero-filled tail (see `ZeroFill`), never records.
 */
async function endOfNonZero(fd: number, from: number, to: number): Promise<number> {
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(0, to - from)));
  for (let end = to; end > from; ) {
    const start = Math.max(from, end - buf.length);
    const n = await readFully(fd, buf, 0, end - start, start);
    for (let i = n - 1; i >= 0; i--) if (buf[i] !== 0) return start + i + 1;
    end = start;
  }
  return from;
}

/**
 * Whether some {@link BLOCK}-aligned block ends within `(from, to]` with its bytes from `from` (or its
 * start, if later) to its end all zero: what a page of a write into a zero-filled segment looks like when
 * it never reached the disk (the disk keeps the page as it was: the records before the write, then
 * zeros). Damage to records (a flipped bit, garbage) does not look like this.
 */
export async function hasZeroBlock(fd: number, from: number, to: number): Promise<boolean> {
  const firstEnd = Math.floor(from / BLOCK) * BLOCK + BLOCK;
  if (firstEnd > to) return false;
  const start = firstEnd - BLOCK;
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, to - start));
  for (let at = start; at + BLOCK <= to; ) {
    const n = await readFully(fd, buf, 0, Math.min(buf.length, Math.floor((to - at) / BLOCK) * BLOCK), at);
    for (let b = 0; b + BLOCK <= n; b += BLOCK) {
      let zero = true;
      for (let i = Math.max(b, from - at); i < b + BLOCK; i++)
        if (buf[i] !== 0) {
          zero = false;
          break;
        }
      if (zero) return true;
    }
    if (n < BLOCK) break;
    at += n - (n % BLOCK);
  }
  return false;
}

/**
 * What follows the spot `from` where the scan of a segment stopped (the one rule recovery and the CLI
 * share): only zeros of its zero-filled tail; no valid frame with a seq at or above `minSeq` (a torn
 * tail); the pieces of a torn last write, up to `endSeq` (zero-filled segments only); or valid records
 * from `after` on (damage).
 */
export type StopFollowedBy =
  | { readonly kind: 'zero-filled tail' }
  | { readonly kind: 'torn tail' }
  | { readonly kind: 'torn last write'; readonly endSeq: number }
  | { readonly kind: 'damage'; readonly after: { readonly offset: number; readonly seq: number } };

/** {@link StopFollowedBy} for the stop at `from` of a segment of `size` bytes on `fd`. */
export async function whatFollows(
  fd: number,
  from: number,
  size: number,
  minSeq: number,
  zeroFilled: boolean,
): Promise<StopFollowedBy> {
  // Zeros only after the stop, in a zero-filled segment: its zero-filled tail (see ZeroFill).
  if (zeroFilled && (await endOfNonZero(fd, from, size)) === from) return { kind: 'zero-filled tail' };
  const after = await findValidFrameAfter(fd, from, size, minSeq);
  if (after === undefined) return { kind: 'torn tail' };
  const endSeq = zeroFilled ? await tornLastWrite(fd, from, after, size) : undefined;
  return endSeq === undefined ? { kind: 'damage', after } : { kind: 'torn last write', endSeq };
}

/**
 * In a zero-filled segment, whether the valid frames from `after` on, past a bad frame at `stop`, are
 * pieces of the last write torn by a power loss rather than damage; returns the seq after them, or
 * undefined for damage. Writes there overwrite blocks in place, where the disk may keep some pages of a
 * write and not others, and a page that did not land is a block of zeros. So: a zero block between
 * `stop` and `after`, and no frame from `after` to the end begins a group (`GROUP_START`): every frame
 * after the hole belongs to the group the hole is in, the last one, which was never acknowledged.
 * Damage in any earlier group has the last group's first frame after it.
 */
async function tornLastWrite(
  fd: number,
  stop: number,
  after: { offset: number; seq: number },
  size: number,
): Promise<number | undefined> {
  if (!(await hasZeroBlock(fd, stop, after.offset))) return undefined;
  // A record whose own bytes hold zeros passes the test above; a flipped bit in it is still damage.
  if (await flippedBit(fd, stop, size)) return undefined;
  let next: { offset: number; seq: number } | undefined = after;
  let endSeq = after.seq + 1;
  while (next !== undefined) {
    const run = await scanFrames(fd, next.offset, next.seq, size, 1, undefined);
    if (run.groupStart) return undefined;
    endSeq = Math.max(endSeq, run.endSeq);
    next = run.stop ? await findValidFrameAfter(fd, run.stop.offset, size, run.endSeq) : undefined;
  }
  return endSeq;
}

/**
 * Whether the frame at `at` differs from its stored CRC-32C as one flipped bit makes it differ, and
 * that bit is not a set bit a missing page took with it: a page that did not land reads as zeros from
 * its start (or the frame's, if later) to its end, so a bit in such a run is left to the torn-write
 * rule. A flipped bit in the length field moves the frame's end: the length its inner fields imply
 * (headers and body lengths) is tried too.
 */
async function flippedBit(fd: number, at: number, size: number): Promise<boolean> {
  const head = Buffer.alloc(30);
  const got = await readFully(fd, head, 0, 30, at);
  if (got < 8) return false;
  const totals = new Set([readU32(head, 0) + 8]);
  if (got >= 26) {
    const hLen = (head[24] as number) | ((head[25] as number) << 8);
    const bodyLength = Buffer.alloc(4);
    if ((await readFully(fd, bodyLength, 0, 4, at + 26 + hLen)) === 4) totals.add(30 + hLen + readU32(bodyLength, 0));
  }
  for (const total of totals) {
    if (total < FRAME_OVERHEAD || total > MAX_RECORD_BYTES_LIMIT + FRAME_OVERHEAD || at + total > size) continue;
    const frame = Buffer.allocUnsafe(total);
    await readFully(fd, frame, 0, total, at);
    const now = crc32c(frame, 8, total, crc32c(frame, 0, 4, 0));
    // The CRC covers the length field and everything after the CRC field: total - 4 bytes.
    const bit = singleBitError(now ^ readU32(frame, 4), total - 4);
    if (bit < 0) continue;
    if (bit === (total - 4) * 8) return true;
    const inMessage = bit >> 3;
    const offset = inMessage < 4 ? inMessage : inMessage + 4;
    if (frame[offset] !== 0) return true;
    const blockStart = Math.floor((at + offset) / BLOCK) * BLOCK;
    const from = Math.max(blockStart, at);
    const blockEnd = blockStart + BLOCK;
    if (blockEnd > size) return true;
    const page = Buffer.alloc(blockEnd - from);
    await readFully(fd, page, 0, page.length, from);
    return !page.every((b) => b === 0);
  }
  return false;
}
