import { stagedCrc32c, stageForCrc, unstage } from './crc32c-wasm.js';
import { encodeFrameUnsealed, frameSize, sealFrame } from './format.js';
import { writeAll } from './fs-util.js';
import type { PreparedRecord } from './group-commit.js';
import type { Segment } from './segment.js';

/** One append of a group: its record(s) and the timestamp they carry. */
export interface GroupItem {
  readonly records: PreparedRecord | readonly PreparedRecord[];
  readonly timestamp: number;
}

/** What {@link writeGroup} wrote: seqs, and the segment index point it reached. */
export interface WrittenGroup {
  /** First seq of each item, in order. */
  readonly firstSeqs: number[];
  /** Seq after the group's last record. */
  readonly nextSeq: number;
  /** Offset of the last index entry pushed (the segment's previous one when none was). */
  readonly lastIndexed: number;
}

/**
 * Encodes `items` (`bytes` in all) as frames from `firstSeq` on, appends their sparse-index entries to
 * `seg.index`, and writes them at `seg.size` of `fd` in one positional write (one thread-pool hop: on a
 * virtual machine each hop can cost as much as encoding a hundred records, so the group is not split into
 * pieces to overlap encoding with writing). Changes nothing of `seg` but its index.
 */
export async function writeGroup(
  fd: number,
  seg: Segment,
  items: readonly GroupItem[],
  bytes: number,
  firstSeq: number,
  indexInterval: number,
): Promise<WrittenGroup> {
  const buf = Buffer.allocUnsafe(bytes);
  const firstSeqs: number[] = new Array(items.length);
  const base = seg.size;
  let seq = firstSeq;
  let pos = 0;
  let lastIndexed = seg.lastIndexedOffset;
  const encode = (rec: PreparedRecord, timestamp: number): void => {
    if (base + pos - lastIndexed >= indexInterval) {
      lastIndexed = base + pos;
      seg.index.push(seq - seg.firstSeq, lastIndexed);
    }
    pos = encodeFrameUnsealed(buf, pos, seq, timestamp, rec.headers, rec.hLen, rec.body, rec.bLen);
    seq++;
  };
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as GroupItem;
    firstSeqs[i] = seq;
    if (Array.isArray(item.records)) {
      for (const rec of item.records as readonly PreparedRecord[]) {
        encode(rec, item.timestamp);
      }
    } else encode(item.records as PreparedRecord, item.timestamp);
  }
  sealFrames(buf);
  await writeAll(fd, buf, bytes, base);
  return { firstSeqs, nextSeq: seq, lastIndexed };
}

/**
 * Fills in the CRC of every frame of `buf`: one copy into WebAssembly memory, then each frame's CRC
 * there, about twice the speed of the JavaScript loop (most of the writer's own time at 1 KB and above).
 */
function sealFrames(buf: Buffer): void {
  stageForCrc(buf, buf.length);
  for (let at = 0; at < buf.length; ) {
    const end = at + frameSize(buf, at);
    sealFrame(buf, at, end, stagedCrc32c);
    at = end;
  }
  unstage(buf);
}
