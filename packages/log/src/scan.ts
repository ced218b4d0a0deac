import {
  checkFrame,
  FRAME_BAD,
  FRAME_OVERHEAD,
  frameSeq,
  frameSize,
  GROUP_START_HI,
  MAX_RECORD_BYTES_LIMIT,
  readU32,
  readU64,
  unmarkTimestamp,
} from './format.js';
import { readFully } from './fs-util.js';
import type { SegmentIndex } from './segment-index.js';

const CHUNK = 1024 * 1024;

/** Where and why a scan stopped before the end of the file. */
export interface ScanStop {
  readonly offset: number;
  readonly reason: string;
  /** Seq in the bad frame's header when its first 16 bytes are there (it may be damaged). */
  readonly seqField: number | undefined;
}

/** What a scan found. */
export interface ScanResult {
  /** Offset after the last valid frame. */
  readonly end: number;
  /** Seq after the last valid frame. */
  readonly endSeq: number;
  readonly lastTimestamp: number;
  /** Whether a frame it passed begins a group (one write of the writer: see `GROUP_START`). */
  readonly groupStart: boolean;
  /** Set when something other than the end of the file stopped it. */
  readonly stop: ScanStop | undefined;
}

/**
 * Walks frames from `start` (whose record must carry `seq`) to `fileSize`, checking each frame's CRC and
 * that seqs follow each other, and adds index entries by the every-`interval`-bytes rule the writer uses.
 */
export async function scanFrames(
  fd: number,
  start: number,
  seq: number,
  fileSize: number,
  interval: number,
  index: { entries: SegmentIndex; lastIndexedOffset: number; baseSeq: number } | undefined,
): Promise<ScanResult & { lastIndexedOffset: number }> {
  let buf = Buffer.allocUnsafe(Math.max(64, Math.min(CHUNK, fileSize - start)));
  let bufStart = start;
  let bufLen = 0;
  let pos = start;
  let lastTimestamp = 0;
  let groupStart = false;
  let lastIndexed = index?.lastIndexedOffset ?? 0;
  const ensure = async (n: number): Promise<void> => {
    if (pos + n <= bufStart + bufLen) return;
    if (n > buf.length) buf = Buffer.allocUnsafe(n);
    bufStart = pos;
    bufLen = await readFully(fd, buf, 0, Math.min(buf.length, fileSize - pos), pos);
  };
  const stopAt = (reason: string, available: number) => {
    const rel = pos - bufStart;
    const seqField = available >= 16 ? frameSeq(buf, rel) : undefined;
    return {
      end: pos,
      endSeq: seq,
      lastTimestamp,
      groupStart,
      lastIndexedOffset: lastIndexed,
      stop: { offset: pos, reason, seqField },
    };
  };
  while (pos < fileSize) {
    const available = fileSize - pos;
    await ensure(Math.min(available, 16));
    if (available < 8) return stopAt(`${available} bytes after the last whole record`, available);
    const total = frameSize(buf, pos - bufStart);
    if (total < FRAME_OVERHEAD || total > MAX_RECORD_BYTES_LIMIT + FRAME_OVERHEAD)
      return stopAt(`impossible frame length ${total - 8}`, available);
    if (total > available) return stopAt(`frame of ${total} bytes cut at ${available}`, available);
    await ensure(total);
    const rel = pos - bufStart;
    if (checkFrame(buf, rel, bufLen) === FRAME_BAD) return stopAt('checksum mismatch', available);
    const s = frameSeq(buf, rel);
    if (s !== seq) return stopAt(`sequence ${s} where ${seq} was expected`, available);
    if (index && pos - lastIndexed >= interval && pos > lastIndexed) {
      index.entries.push(seq - index.baseSeq, pos);
      lastIndexed = pos;
    }
    lastTimestamp = unmarkTimestamp(readU64(buf, rel + 16));
    if ((readU32(buf, rel + 20) & GROUP_START_HI) !== 0) groupStart = true;
    pos += total;
    seq++;
  }
  return { end: pos, endSeq: seq, lastTimestamp, groupStart, lastIndexedOffset: lastIndexed, stop: undefined };
}

/**
 * The first valid frame after a bad one at `from` whose seq is at least `minSeq` (a valid frame after a
 * damaged one means damage, not a torn tail). Checks every byte offset, cheapest tests first; runs only
 * when a scan stopped early.
 */
export async function findValidFrameAfter(
  fd: number,
  from: number,
  fileSize: number,
  minSeq: number,
): Promise<{ offset: number; seq: number } | undefined> {
  const maxSeq = minSeq + Math.ceil((fileSize - from) / FRAME_OVERHEAD);
  const buf = Buffer.allocUnsafe(Math.min(CHUNK * 4, Math.max(0, fileSize - from)) + 64);
  for (let chunkStart = from + 1; chunkStart + FRAME_OVERHEAD <= fileSize; ) {
    const len = await readFully(fd, buf, 0, Math.min(buf.length, fileSize - chunkStart), chunkStart);
    const last = len - FRAME_OVERHEAD;
    for (let r = 0; r <= last; r++) {
      const total = readU32(buf, r) + 8;
      if (total < FRAME_OVERHEAD || chunkStart + r + total > fileSize) continue;
      const seq = readU64(buf, r + 8);
      if (!(seq >= minSeq && seq <= maxSeq)) continue;
      let frame = buf;
      let at = r;
      if (r + total > len) {
        frame = Buffer.allocUnsafe(total);
        at = 0;
        await readFully(fd, frame, 0, total, chunkStart + r);
      }
      if (checkFrame(frame, at, at + total) === total) return { offset: chunkStart + r, seq };
    }
    if (len < buf.length) break;
    chunkStart += last + 1;
  }
  return undefined;
}
