import { verifyFrames } from './crc32c-wasm.js';
import { LogClosedError, LogCorruptionError } from './errors.js';
import { checkFrame, decodeRun, FRAME_BAD, FRAME_OVERHEAD, frameSeq, frameSize } from './format.js';
import { readFully } from './fs-util.js';
import type { LogState } from './log-state.js';
import type { LogRecord } from './record.js';
import type { Segment } from './segment.js';

/** The smallest read: a frame cut by a read's end costs a second read, so not much below the index interval. */
const MIN_READ = 4 * 1024;
/** The largest read (more for a single frame larger than this). */
const BIG_CHUNK = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

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
    const out = await readCounted(state, fromSeq, max, maxBytes);
    const last = out[out.length - 1];
    state.tail.readTo(last === undefined ? Math.min(fromSeq, state.durableSeq) : last.seq + 1);
    return out;
  } finally {
    state.endRead();
  }
}

async function readCounted(state: LogState, fromSeq: number, max: number, maxBytes: number): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let seq = Math.max(fromSeq, state.firstSeq);
  let bodyBytes = 0;
  const tail = state.tail;
  while (out.length < max && seq < state.durableSeq && bodyBytes < maxBytes) {
    if (seq >= tail.firstSeq && seq < tail.endSeq) {
      // What the writer wrote last is still in memory: no disk read, no CRC check (it never left memory).
      const before = out.length;
      bodyBytes = tail.read(seq, max, maxBytes, bodyBytes, out);
      if (bodyBytes < 0 || out.length === before) break;
      seq = (out[out.length - 1] as LogRecord).seq + 1;
      continue;
    }
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
  /** The seq after the last record this call may return. */
  const wantEnd = Math.min(endSeq, seq + max - out.length);
  let buf = EMPTY;
  let bufStart = pos;
  let bufLen = 0;
  while (cur < wantEnd && pos < limit && bodyBytes < maxBytes) {
    if (pos + 8 > bufStart + bufLen || pos + frameSize(buf, pos - bufStart) > bufStart + bufLen) {
      // Refill at pos: a fresh buffer, since the records already returned are views of the old one.
      const want = readSize(seg, pos, wantEnd, limit);
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
      pos += total;
      cur++;
      continue;
    }
    // The run of whole frames from here, valid and in sequence, is checked in WebAssembly; it stops early
    // at damage or at the chunk's end, and the frame it stopped at is looked at again when the loop comes
    // back to it.
    const runEnd = verifyFrames(buf, rel, bufLen, wantEnd - cur, cur);
    if (runEnd === rel) throw damage(seg, buf, rel, bufLen, pos, cur);
    const before = out.length;
    const taken = decodeRun(buf, rel, runEnd, cur, out, bodyBytes, maxBytes, seg.name, bufStart);
    if (taken < 0) return maxBytes;
    bodyBytes = taken;
    cur += out.length - before;
    pos = bufStart + runEnd;
  }
  return bodyBytes;
}

/** The error for the whole frame at `rel` that failed its check: damaged, or a seq other than `expected`. */
function damage(
  seg: Segment,
  buf: Buffer,
  rel: number,
  bufLen: number,
  pos: number,
  expected: number,
): LogCorruptionError {
  if (checkFrame(buf, rel, bufLen) === FRAME_BAD) return new LogCorruptionError(seg.name, pos, 'checksum mismatch');
  return new LogCorruptionError(seg.name, pos, `sequence ${frameSeq(buf, rel)} where ${expected} was expected`);
}

/**
 * How much to read at `pos`: up to the sparse index entry at or after `wantEnd` (the frames before it end
 * there), so a one-record read takes a few KiB rather than a fixed chunk; at most {@link BIG_CHUNK}, never
 * past `limit`. The index is only a hint: a frame cut by the chunk's end is read again by the next refill.
 */
function readSize(seg: Segment, pos: number, wantEnd: number, limit: number): number {
  const end = seg.index.offsetAtOrAfter(wantEnd - seg.firstSeq) ?? limit;
  return Math.min(limit - pos, Math.max(MIN_READ, Math.min(BIG_CHUNK, end - pos)));
}
