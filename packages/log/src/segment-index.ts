import { promises as fsp } from 'node:fs';
import { crc32c } from './crc32c.js';
import { readU32, readU64, SEGMENT_HEADER_BYTES, writeU64 } from './format.js';

/*
 * A segment's sparse index, `<first seq>.idx`: 16-byte entries [u32 seq relative to the segment's first]
 * [u64 byte offset of that record's frame][u32 CRC-32C of the 12 bytes before]. The last entry of a sealed
 * segment is a seal: [u32 record count][u64 segment file size][CRC seeded with SEAL_SEED], so a reopen can
 * trust a sealed segment's index without scanning it. The index is a hint: rebuilt from the segment
 * whenever it is missing, short, stale or damaged.
 */

/** Size of one index entry. */
export const INDEX_ENTRY_BYTES = 16;
const SEAL_SEED = 0x5ea1;

/** An index file's content: its entries and, for a sealed segment, the seal. */
export interface IndexFileContent {
  readonly entries: SegmentIndex;
  readonly seal: { readonly count: number; readonly size: number } | undefined;
  /** Whether every byte of the file was a valid entry (a torn or garbled one ends the list early). */
  readonly clean: boolean;
}

/** The in-memory sparse index of a segment: (relative seq, byte offset) pairs in increasing order. */
export class SegmentIndex {
  readonly relSeqs: number[] = [];
  readonly offsets: number[] = [];

  /** Number of entries. */
  get length(): number {
    return this.relSeqs.length;
  }

  /** Adds an entry after the others. */
  push(relSeq: number, offset: number): void {
    this.relSeqs.push(relSeq);
    this.offsets.push(offset);
  }

  /** Drops the entries from `count` on. */
  truncate(count: number): void {
    this.relSeqs.length = count;
    this.offsets.length = count;
  }

  /** The nearest entry at or before `relSeq`: where to start scanning for it. */
  floor(relSeq: number): { relSeq: number; offset: number } {
    let lo = 0;
    let hi = this.relSeqs.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.relSeqs[mid] as number) <= relSeq) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0
      ? { relSeq: 0, offset: SEGMENT_HEADER_BYTES }
      : { relSeq: this.relSeqs[found] as number, offset: this.offsets[found] as number };
  }

  /** Offset of the first entry at or after `relSeq` (where the frames before it end), or undefined past the last. */
  offsetAtOrAfter(relSeq: number): number | undefined {
    let lo = 0;
    let hi = this.relSeqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.relSeqs[mid] as number) < relSeq) lo = mid + 1;
      else hi = mid;
    }
    return this.offsets[lo];
  }

  /** Every entry, encoded for the index file (a seal appended when given). */
  encode(seal?: { count: number; size: number }): Buffer {
    const n = this.relSeqs.length + (seal ? 1 : 0);
    const buf = Buffer.allocUnsafe(n * INDEX_ENTRY_BYTES);
    let p = 0;
    for (let i = 0; i < this.relSeqs.length; i++) {
      encodeEntry(buf, p, this.relSeqs[i] as number, this.offsets[i] as number, 0);
      p += INDEX_ENTRY_BYTES;
    }
    if (seal) encodeEntry(buf, p, seal.count, seal.size, SEAL_SEED);
    return buf;
  }
}

function encodeEntry(buf: Buffer, p: number, relSeq: number, offset: number, seed: number): void {
  buf.writeUInt32LE(relSeq, p);
  writeU64(buf, p + 4, offset);
  buf.writeUInt32LE(crc32c(buf, p, p + 12, seed), p + 12);
}

/**
 * Reads an index file. Entries stop at the first torn, garbled or out-of-order one (`clean` false then);
 * a missing file reads as empty and not clean.
 */
export async function readIndexFile(path: string): Promise<IndexFileContent> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { entries: new SegmentIndex(), seal: undefined, clean: false };
    throw err;
  }
  const entries = new SegmentIndex();
  let clean = buf.length % INDEX_ENTRY_BYTES === 0;
  let seal: IndexFileContent['seal'];
  for (let p = 0; p + INDEX_ENTRY_BYTES <= buf.length; p += INDEX_ENTRY_BYTES) {
    const relSeq = readU32(buf, p);
    const offset = readU64(buf, p + 4);
    const crc = readU32(buf, p + 12);
    const last = entries.length - 1;
    if (crc === crc32c(buf, p, p + 12, SEAL_SEED) && p + INDEX_ENTRY_BYTES === buf.length) {
      seal = { count: relSeq, size: offset };
      break;
    }
    const ordered =
      last < 0
        ? offset >= SEGMENT_HEADER_BYTES
        : relSeq > (entries.relSeqs[last] as number) && offset > (entries.offsets[last] as number);
    if (crc !== crc32c(buf, p, p + 12) || !ordered || Number.isNaN(offset)) {
      clean = false;
      break;
    }
    entries.push(relSeq, offset);
  }
  return { entries, seal, clean };
}
