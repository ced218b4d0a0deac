import * as fs from 'node:fs';
import { join } from 'node:path';
import type { SegmentFdCache } from './fd-cache.js';
import { closeQuietly } from './fs-util.js';
import { SegmentIndex } from './segment-index.js';

const NAME = /^(\d{20})\.seg$/;

/** `<first seq, 20 digits>.seg`, so names sort as numbers. */
export function segmentFileName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, '0')}.seg`;
}

/** The first seq a segment file name stands for, or undefined for other files. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** One segment file and what the log knows of it. */
export class Segment {
  /** Seq of its first record (also its name). */
  readonly firstSeq: number;
  /** File name, `<first seq>.seg`. */
  readonly name: string;
  /** Path of the `.seg` file. */
  readonly path: string;
  /** Path of the `.idx` file beside it. */
  readonly indexPath: string;
  /** The sparse index, in memory. */
  readonly index: SegmentIndex;
  /** Bytes written to the file (header included). */
  size: number;
  /** Bytes readers may see: whole records that are durable at the log's sync level. */
  readableSize: number;
  /** Seq after its last written record. */
  endSeq: number;
  /** Seq after its last readable record. */
  readableEndSeq: number;
  /** When its last record was written (file mtime for sealed segments). */
  lastWriteMs: number;
  /** Offset of the last index entry (or the header's end), for the every-`indexIntervalBytes` rule. */
  lastIndexedOffset: number;
  /** Reads and readers inside it right now; retention leaves it alone while above 0. */
  refs = 0;
  /** Deleted by retention: a reader still holding it moves on to the next segment. */
  deleted = false;
  /** Its header says it is zero-filled ahead of its writer (`SEGMENT_ZERO_FILLED`); only such segments are. */
  zeroFilled = false;
  /** Where a descriptor opened for reading is registered, so that only so many stay open. */
  fdCache: SegmentFdCache | undefined;
  #fd: number | undefined;
  #dsync = false;
  #opening: Promise<number> | undefined;

  constructor(dir: string, firstSeq: number, index = new SegmentIndex()) {
    this.firstSeq = firstSeq;
    this.name = segmentFileName(firstSeq);
    this.path = join(dir, this.name);
    this.indexPath = join(dir, this.name.replace(/\.seg$/, '.idx'));
    this.index = index;
    this.size = 0;
    this.readableSize = 0;
    this.endSeq = firstSeq;
    this.readableEndSeq = firstSeq;
    this.lastWriteMs = 0;
    this.lastIndexedOffset = 0;
  }

  /** Whether its descriptor was opened with `O_DSYNC` (every write durable when it returns). */
  get dsync(): boolean {
    return this.#dsync;
  }

  /** Uses an already open descriptor (the active segment's, opened for writing; `dsync` if with O_DSYNC). */
  adoptFd(fd: number, dsync = false): void {
    this.#fd = fd;
    this.#dsync = dsync;
  }

  /** The descriptor, if open. */
  get fdIfOpen(): number | undefined {
    return this.#fd;
  }

  /** A descriptor for positional reads, opened read-only on first use. */
  fd(): Promise<number> {
    if (this.#fd !== undefined) {
      this.fdCache?.touch(this);
      return Promise.resolve(this.#fd);
    }
    this.#opening ??= new Promise<number>((resolve, reject) =>
      fs.open(this.path, 'r', (err, fd) => {
        this.#opening = undefined;
        if (err) reject(err);
        else {
          this.#fd = fd;
          this.fdCache?.touch(this);
          resolve(fd);
        }
      }),
    );
    return this.#opening;
  }

  /** Closes its descriptor. */
  async close(): Promise<void> {
    const fd = this.#fd;
    this.#fd = undefined;
    this.#dsync = false;
    if (fd !== undefined) await closeQuietly(fd);
  }
}
