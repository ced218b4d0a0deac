import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES, SEGMENT_ZERO_FILLED } from './format.js';
import { closeQuietly, errno, fdatasync, fsyncDir, openFd, writeAll } from './fs-util.js';
import type { ResolvedLogOptions } from './options.js';
import { Segment } from './segment.js';

/**
 * Open flags for a segment being appended to: `O_DSYNC` with `sync: 'always'` where the platform has it,
 * so every write returns once durable (what `write` + `fdatasync` do, in one call). Undefined elsewhere.
 */
export function dsyncFlag(dsync: boolean): number {
  return dsync ? (fs.constants.O_DSYNC ?? 0) : 0;
}

/**
 * Creates `<firstSeq>.seg` (header written and synced) and an empty `.idx`, then syncs the directory so
 * the new names survive a power loss. The returned segment holds a read-write descriptor, opened with
 * `O_DSYNC` with `sync: 'always'` (see {@link dsyncFlag}); its header says it is zero-filled when the
 * log zero-fills (`preallocateBytes`).
 */
export async function createSegment(
  dir: string,
  firstSeq: number,
  options: Pick<ResolvedLogOptions, 'sync' | 'preallocateBytes'>,
): Promise<Segment> {
  const dsync = options.sync === 'always';
  const zeroFilled = options.preallocateBytes > 0;
  const segment = new Segment(dir, firstSeq);
  const { O_RDWR, O_CREAT, O_TRUNC } = fs.constants;
  const extra = dsyncFlag(dsync);
  // O_TRUNC, not O_EXCL: a file of this name can only be an empty leftover of a creation cut short.
  const fd = await openFd(segment.path, O_RDWR | O_CREAT | O_TRUNC | extra);
  try {
    const header = encodeSegmentHeader(firstSeq, zeroFilled ? SEGMENT_ZERO_FILLED : 0);
    await writeAll(fd, header, header.length, 0);
    if (extra === 0) await fdatasync(fd);
    await fsp.writeFile(segment.indexPath, Buffer.alloc(0));
    await fsyncDir(dir);
  } catch (err) {
    await closeQuietly(fd);
    await fsp.rm(segment.path, { force: true });
    throw err;
  }
  segment.adoptFd(fd, extra !== 0);
  segment.zeroFilled = zeroFilled;
  segment.size = SEGMENT_HEADER_BYTES;
  segment.readableSize = SEGMENT_HEADER_BYTES;
  segment.lastIndexedOffset = SEGMENT_HEADER_BYTES;
  segment.lastWriteMs = Date.now();
  return segment;
}

/** Writes a segment's whole index with its seal and syncs it: a reopen then trusts it without a scan. */
export async function writeSealedIndex(segment: Segment): Promise<void> {
  const buf = segment.index.encode({ count: segment.endSeq - segment.firstSeq, size: segment.size });
  await writeIndexFile(segment.indexPath, buf);
}

/**
 * Writes the index of the segment being appended to, unsealed, and syncs it: at close, so that a clean
 * reopen starts its scan at the last entry. While the log runs that index lives in memory only: writing
 * it beside every group made each fdatasync wait for a second file's metadata in the journal.
 */
export async function writeActiveIndex(segment: Segment): Promise<void> {
  await writeIndexFile(segment.indexPath, segment.index.encode());
}

/** Replaces an index file's content, synced. */
async function writeIndexFile(path: string, buf: Buffer): Promise<void> {
  const fh = await fsp.open(path, 'w');
  try {
    await fh.write(buf, 0, buf.length, 0);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** Cuts a file to 0 bytes (a missing one is fine): frees space rather than needing any. */
export async function emptyFile(path: string): Promise<void> {
  try {
    await fsp.truncate(path, 0);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

/** Unlinks a segment and its index (a missing file is fine: a deletion cut short by a crash). */
export async function unlinkSegment(segment: Segment): Promise<void> {
  await segment.close();
  for (const path of [segment.path, segment.indexPath]) {
    try {
      await fsp.unlink(path);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
  }
}
