import { readFully } from './fs-util.js';

const CHUNK = 1024 * 1024;
/** The unit a disk writes whole: a page of a write cut by a power loss is missing in such blocks. */
const BLOCK = 512;

/**
 * The offset after the last byte of `[from, to)` that is not zero (`from` when all are): zeros after it
 * are the segment's zero-filled tail (see `ZeroFill`), never records.
 */
export async function endOfNonZero(fd: number, from: number, to: number): Promise<number> {
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
 * Whether `[from, to)` holds a whole {@link BLOCK}-byte block, aligned in the file, of zeros only. In a
 * zero-filled segment a synced write lands page by page: a power loss during the last (unacknowledged)
 * write can leave such a hole with later pieces of the same write after it. Damage to acknowledged
 * records (a flipped bit, garbage) does not look like this.
 */
export async function hasZeroBlock(fd: number, from: number, to: number): Promise<boolean> {
  const first = Math.ceil(from / BLOCK) * BLOCK;
  if (first + BLOCK > to) return false;
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, to - first));
  for (let at = first; at + BLOCK <= to; ) {
    const n = await readFully(fd, buf, 0, Math.min(buf.length, to - at), at);
    for (let b = 0; b + BLOCK <= n; b += BLOCK) {
      let zero = true;
      for (let i = b; i < b + BLOCK; i++)
        if (buf[i] !== 0) {
          zero = false;
          break;
        }
      if (zero) return true;
    }
    at += n - (n % BLOCK);
    if (n < BLOCK) break;
  }
  return false;
}
