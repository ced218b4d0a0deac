import { stagedCrc32c, stageForCrc, unstage } from './crc32c-wasm.js';
import { encodeFrameUnsealed, frameSize, GROUP_START, sealFrame } from './format.js';
import { writeAll } from './fs-util.js';
import type { PreparedRecord } from './group-commit.js';
import type { Segment } from './segment.js';

/** Groups up to this size are encoded into one buffer kept for the next group; larger ones get their own. */
const KEPT_BYTES = 4 * 1024 * 1024;

/**
 * The writer's encoding buffer, reused from group to group: a fresh buffer of a few hundred KiB per group
 * is a new mapping for the allocator (page faults on every first touch) and garbage for the collector,
 * which together cost more than encoding the records. One group is written at a time, so one buffer does.
 */
export class GroupBuffer {
  #buf: Buffer = Buffer.allocUnsafeSlow(64 * 1024);

  /** A buffer of exactly `bytes`, valid until the next call. */
  take(bytes: number): Buffer {
    if (bytes > KEPT_BYTES) return Buffer.allocUnsafeSlow(bytes);
    if (bytes > this.#buf.length)
      this.#buf = Buffer.allocUnsafeSlow(Math.min(KEPT_BYTES, Math.max(bytes, this.#buf.length * 2)));
    return this.#buf.subarray(0, bytes);
  }
}

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
  /** The frames as written: the writer's buffer, valid until its next group. */
  readonly frames: Buffer;
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
  scratch: GroupBuffer,
): Promise<WrittenGroup> {
  const buf = scratch.take(bytes);
  const firstSeqs: number[] = new Array(items.length);
  const base = seg.size;
  let seq = firstSeq;
  let pos = 0;
  let lastIndexed = seg.lastIndexedOffset;
  // The group's first frame carries the mark recovery needs to find where the last write began.
  let mark = GROUP_START;
  const encode = (rec: PreparedRecord, timestamp: number): void => {
    if (base + pos - lastIndexed >= indexInterval) {
      lastIndexed = base + pos;
      seg.index.push(seq - seg.firstSeq, lastIndexed);
    }
    pos = encodeFrameUnsealed(buf, pos, seq, timestamp + mark, rec.headers, rec.hLen, rec.body, rec.bLen);
    mark = 0;
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
  return { firstSeqs, nextSeq: seq, lastIndexed, frames: buf };
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
