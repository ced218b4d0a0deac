import { isStaged, stagedCrc32c, stageForCrc } from './crc32c-wasm.js';
import { LogClosedError, LogCorruptionError } from './errors.js';
import { checkFrame, decodeFrame, FRAME_BAD, FRAME_OVERHEAD, frameSeq, frameSize } from './format.js';
import { readFully } from './fs-util.js';
import type { LogState } from './log-state.js';
import type { LogRecord } from './record.js';
import type { Segment } from './segment.js';

const SMALL_CHUNK = 64 * 1024;
const BIG_CHUNK = 1024 * 1024;

/**
 * Up to `max` durable records from `fromSeq` on (or the first stored after it), at most `maxBytes` of bodies
 * (one record at least). Each segment is found by binary search over first seqs, the start by its sparse
 * index, then a short hop over frame lengths; frames are read in large positional reads and decoded as views
 * of that buffer. Every returned frame's CRC and seq are checked: damage throws, it is never skipped.
 * Rejects with `LogClosedError` once the log is closed; `close()` waits for the reads already under way.
 */
export async function readRecords(
  state: LogState,
  fromSeq: number,
  max: number,
  maxBytes: number,
): Promise<LogRecord[]> {
  if (!state.beginRead()) throw new LogClosedError(state.options.dir);
  try {
    return await readCounted(state, fromSeq, max, maxBytes);
  } finally {
    state.endRead();
  }
}

async function readCounted(state: LogState, fromSeq: number, max: number, maxBytes: number): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let seq = Math.max(fromSeq, state.firstSeq);
  let bodyBytes = 0;
  while (out.length < max && seq < state.durableSeq && bodyBytes < maxBytes) {
    const si = state.segmentIndexFor(seq);
    const seg = state.segments[si] as Segment;
    if (seq < seg.firstSeq) seq = seg.firstSeq;
    if (seq >= seg.readableEndSeq) {
      const next = state.segments[si + 1];
      if (next === undefined || next.firstSeq <= seq) break;
      seq = next.firstSeq;
      continue;
    }
    seg.refs++;
    try {
      const before = out.length;
      bodyBytes = await readSegment(seg, seq, max, maxBytes, bodyBytes, out);
      if (out.length === before) break;
      seq = (out[out.length - 1] as LogRecord).seq + 1;
    } finally {
      seg.refs--;
    }
  }
  return out;
}

async function readSegment(
  seg: Segment,
  seq: number,
  max: number,
  maxBytes: number,
  bodyBytes: number,
  out: LogRecord[],
): Promise<number> {
  const fd = await seg.fd();
  const start = seg.index.floor(seq - seg.firstSeq);
  let pos = start.offset;
  let cur = seg.firstSeq + start.relSeq;
  const limit = seg.readableSize;
  const endSeq = seg.readableEndSeq;
  const chunkSize = max <= 64 ? SMALL_CHUNK : BIG_CHUNK;
  let buf = Buffer.allocUnsafe(0);
  let bufStart = pos;
  let bufLen = 0;
  while (cur < endSeq && pos < limit && out.length < max && bodyBytes < maxBytes) {
    if (pos + 8 > bufStart + bufLen || pos + frameSize(buf, pos - bufStart) > bufStart + bufLen) {
      // Refill at pos: a fresh buffer, since the records already returned are views of the old one.
      const want = Math.min(limit - pos, chunkSize);
      buf = Buffer.allocUnsafe(want);
      bufStart = pos;
      bufLen = await readFully(fd, buf, 0, want, pos);
      if (bufLen >= 8) {
        const total = frameSize(buf, 0);
        if (total > bufLen && pos + total <= limit) {
          const big = Buffer.allocUnsafe(total);
          buf.copy(big, 0, 0, bufLen);
          bufLen += await readFully(fd, big, bufLen, total - bufLen, pos + bufLen);
          buf = big;
        }
      }
    }
    const rel = pos - bufStart;
    const total = bufLen - rel >= 8 ? frameSize(buf, rel) : 0;
    if (total < FRAME_OVERHEAD || rel + total > bufLen)
      throw new LogCorruptionError(seg.name, pos, `frame length ${total - 8} does not fit the segment`);
    if (cur < seq) {
      // Hop over records before the one asked for by their lengths; their seq still has to be right.
      if (frameSeq(buf, rel) !== cur)
        throw new LogCorruptionError(seg.name, pos, `sequence ${frameSeq(buf, rel)} where ${cur} was expected`);
    } else {
      // Staged again after any await: another read may have staged its own chunk meanwhile.
      if (!isStaged(buf)) stageForCrc(buf, bufLen);
      if (checkFrame(buf, rel, bufLen, stagedCrc32c) === FRAME_BAD)
        throw new LogCorruptionError(seg.name, pos, 'checksum mismatch');
      const record = decodeFrame(buf, rel);
      if (record.seq !== cur)
        throw new LogCorruptionError(seg.name, pos, `sequence ${record.seq} where ${cur} was expected`);
      if (out.length > 0 && bodyBytes + record.body.length > maxBytes) return maxBytes;
      out.push(record);
      bodyBytes += record.body.length;
    }
    pos += total;
    cur++;
  }
  return bodyBytes;
}
