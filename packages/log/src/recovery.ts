import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import type { Logger } from '@q/core';
import { LogCorruptionError } from './errors.js';
import {
  checkFrame,
  decodeSegmentHeader,
  encodeSegmentHeader,
  frameSeq,
  SEGMENT_HEADER_BYTES,
  SEGMENT_ZERO_FILLED,
} from './format.js';
import { closeQuietly, fdatasync, fsyncDir, ftruncate, openFd, readFully, writeAll } from './fs-util.js';
import type { ResolvedLogOptions } from './options.js';
import { scanFrames } from './scan.js';
import { parseSegmentFileName, Segment } from './segment.js';
import { createSegment, dsyncFlag, emptyFile, unlinkSegment, writeSealedIndex } from './segment-files.js';
import { readIndexFile } from './segment-index.js';
import { whatFollows } from './zero-tail.js';

/** What `openLog` found and repaired. */
export interface RecoveryReport {
  /** Bytes cut from the end of the last segment (a torn tail, or damage with `onCorruption: 'truncate'`). */
  readonly truncatedBytes: number;
  /** Seqs of the records cut, `[from, to)`, when their headers could be read; null when none. */
  readonly truncatedSeqs: readonly [number, number] | null;
  /** The segment that was cut, when one was. */
  readonly segment?: string;
  /** Index files rebuilt from their segments because they were missing, stale or damaged. */
  readonly rebuiltIndexes: string[];
}

/** Segments ready to use, the last one open for writing. */
export interface RecoveredLog {
  readonly segments: Segment[];
  readonly nextSeq: number;
  readonly report: RecoveryReport;
}

/**
 * Opens the segments of `segDir`: sealed ones by their sealed index (rebuilt by a full scan when it is not
 * whole), the last by a scan from its last index point that cuts a torn tail. `seqFloor` (the highest cursor
 * position) keeps seqs from being reused: records a cursor has passed may have been seen.
 */
export async function recoverSegments(
  segDir: string,
  options: ResolvedLogOptions,
  seqFloor: number,
  logger: Logger,
): Promise<RecoveredLog> {
  const names = await fsp.readdir(segDir);
  const seqs = names.flatMap((n) => {
    const s = parseSegmentFileName(n);
    return s === undefined ? [] : [s];
  });
  seqs.sort((a, b) => a - b);
  const segNames = new Set(names.filter((n) => n.endsWith('.seg')));
  for (const n of names) {
    // An index without its segment is what a deletion cut short between the two unlinks leaves.
    if (n.endsWith('.idx') && !segNames.has(n.replace(/\.idx$/, '.seg')))
      await fsp.rm(`${segDir}/${n}`, { force: true });
  }
  const rebuiltIndexes: string[] = [];
  const segments: Segment[] = [];
  for (let i = 0; i < seqs.length - 1; i++) {
    const segment = await openSealed(segDir, seqs[i] as number, options, rebuiltIndexes);
    if (segment.endSeq > (seqs[i + 1] as number))
      throw new LogCorruptionError(
        segment.name,
        segment.size,
        `records run to seq ${segment.endSeq}, past the next segment's first`,
      );
    segments.push(segment);
  }
  if (seqs.length === 0) {
    const segment = await createSegment(segDir, seqFloor, options);
    return {
      segments: [segment],
      nextSeq: seqFloor,
      report: { truncatedBytes: 0, truncatedSeqs: null, rebuiltIndexes },
    };
  }
  const last = await openLast(segDir, seqs[seqs.length - 1] as number, options, rebuiltIndexes, logger);
  let nextSeq = last.segment.endSeq;
  const floor = Math.max(seqFloor, last.lostEnd);
  if (floor > nextSeq) {
    // Seqs below `floor` were handed out (and maybe seen) before: continue after them, in a new segment,
    // since a segment's records are contiguous.
    if (last.segment.size === SEGMENT_HEADER_BYTES) await unlinkSegment(last.segment);
    else {
      await writeSealedIndex(last.segment);
      await last.segment.close();
      segments.push(last.segment);
    }
    nextSeq = floor;
    segments.push(await createSegment(segDir, floor, options));
  } else segments.push(last.segment);
  return { segments, nextSeq, report: last.report };
}

async function openSealed(
  segDir: string,
  firstSeq: number,
  options: ResolvedLogOptions,
  rebuilt: string[],
): Promise<Segment> {
  const segment = new Segment(segDir, firstSeq);
  const fd = await openFd(segment.path, 'r');
  try {
    const stat = await fsp.stat(segment.path);
    segment.size = stat.size;
    segment.readableSize = stat.size;
    segment.lastWriteMs = stat.mtimeMs;
    await checkHeader(fd, segment);
    const content = await readIndexFile(segment.indexPath);
    if (content.seal && content.seal.size === stat.size) {
      for (let k = 0; k < content.entries.length; k++)
        segment.index.push(content.entries.relSeqs[k] as number, content.entries.offsets[k] as number);
      segment.endSeq = firstSeq + content.seal.count;
    } else {
      const scan = await scanFrames(fd, SEGMENT_HEADER_BYTES, firstSeq, stat.size, options.indexIntervalBytes, {
        entries: segment.index,
        lastIndexedOffset: SEGMENT_HEADER_BYTES,
        baseSeq: firstSeq,
      });
      // Sealed segments were synced before the next one was created: damage here is never a torn tail.
      if (scan.stop) throw new LogCorruptionError(segment.name, scan.stop.offset, scan.stop.reason);
      segment.endSeq = scan.endSeq;
      await writeSealedIndex(segment);
      rebuilt.push(segment.name.replace(/\.seg$/, '.idx'));
    }
    segment.readableEndSeq = segment.endSeq;
    return segment;
  } finally {
    await closeQuietly(fd);
  }
}

async function checkHeader(fd: number, segment: Segment): Promise<void> {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  const n = await readFully(fd, buf, 0, SEGMENT_HEADER_BYTES, 0);
  const header = decodeSegmentHeader(buf.subarray(0, n));
  if ('error' in header) throw new LogCorruptionError(segment.name, 0, header.error);
  segment.zeroFilled = (header.flags & SEGMENT_ZERO_FILLED) !== 0;
  if (header.firstSeq !== segment.firstSeq)
    throw new LogCorruptionError(
      segment.name,
      0,
      `header says first seq ${header.firstSeq}, the name ${segment.firstSeq}`,
    );
}

async function openLast(
  segDir: string,
  firstSeq: number,
  options: ResolvedLogOptions,
  rebuilt: string[],
  logger: Logger,
): Promise<{ segment: Segment; report: RecoveryReport; lostEnd: number }> {
  const segment = new Segment(segDir, firstSeq);
  const extra = dsyncFlag(options.sync === 'always');
  const fd = await openFd(segment.path, fs.constants.O_RDWR | extra);
  segment.adoptFd(fd, extra !== 0);
  try {
    const stat = await fsp.stat(segment.path);
    segment.lastWriteMs = stat.mtimeMs;
    let size = stat.size;
    if (size < SEGMENT_HEADER_BYTES) {
      // Created but its header never reached the disk: it holds no record, write the header again.
      await segment.close();
      const fresh = await createSegment(segDir, firstSeq, options);
      return {
        segment: fresh,
        report: { truncatedBytes: 0, truncatedSeqs: null, rebuiltIndexes: rebuilt },
        lostEnd: 0,
      };
    }
    await checkHeader(fd, segment);
    const content = await readIndexFile(segment.indexPath);
    const entries = content.entries;
    // Start from the last index entry that points at a valid frame of the right seq.
    let k = entries.length - 1;
    for (; k >= 0; k--) {
      const at = entries.offsets[k] as number;
      const seq = firstSeq + (entries.relSeqs[k] as number);
      if (await validFrameAt(fd, at, size, seq)) break;
    }
    entries.truncate(k + 1);
    const start = k >= 0 ? (entries.offsets[k] as number) : SEGMENT_HEADER_BYTES;
    const startSeq = k >= 0 ? firstSeq + (entries.relSeqs[k] as number) : firstSeq;
    for (let j = 0; j <= k; j++) segment.index.push(entries.relSeqs[j] as number, entries.offsets[j] as number);
    const scan = await scanFrames(fd, start, startSeq, size, options.indexIntervalBytes, {
      entries: segment.index,
      lastIndexedOffset: start,
      baseSeq: firstSeq,
    });
    segment.lastIndexedOffset = scan.lastIndexedOffset;
    let report: RecoveryReport = { truncatedBytes: 0, truncatedSeqs: null, rebuiltIndexes: rebuilt };
    let lostEnd = 0;
    if (scan.stop) {
      const stop = scan.stop;
      const follows = await whatFollows(fd, stop.offset, size, scan.endSeq, segment.zeroFilled);
      let truncatedSeqs: [number, number] | null = null;
      if (follows.kind === 'torn last write') {
        // Pieces of the last write, which a power loss cut into pages: never acknowledged, never read.
        truncatedSeqs = [scan.endSeq, follows.endSeq];
      } else if (follows.kind === 'damage') {
        if (options.onCorruption === 'fail') throw new LogCorruptionError(segment.name, stop.offset, stop.reason);
        const after = follows.after;
        const rest = await scanFrames(fd, after.offset, after.seq, size, options.indexIntervalBytes, undefined);
        lostEnd = Math.max(rest.endSeq, after.seq + 1);
        truncatedSeqs = [scan.endSeq, lostEnd];
        logger.error(
          { segment: segment.name, offset: stop.offset, reason: stop.reason, seqs: truncatedSeqs },
          'log corruption: cut the last segment at the damaged record (onCorruption: truncate)',
        );
      } else if (stop.seqField === scan.endSeq) truncatedSeqs = [scan.endSeq, scan.endSeq + 1];
      await ftruncate(fd, stop.offset);
      await fdatasync(fd);
      report = { truncatedBytes: size - stop.offset, truncatedSeqs, segment: segment.name, rebuiltIndexes: rebuilt };
      if (follows.kind === 'zero-filled tail')
        logger.info(
          { segment: segment.name, offset: stop.offset, bytes: size - stop.offset },
          'log recovery: cut the zero-filled tail',
        );
      else if (follows.kind !== 'damage')
        logger.warn(
          {
            segment: segment.name,
            offset: stop.offset,
            bytes: size - stop.offset,
            seqs: truncatedSeqs,
            reason: stop.reason,
          },
          'log recovery: cut a torn tail',
        );
      size = stop.offset;
    }
    if (segment.zeroFilled && options.preallocateBytes === 0) {
      // This writer appends to it: its holes rule must not apply to what it writes (see zero-tail.ts).
      const header = encodeSegmentHeader(segment.firstSeq);
      await writeAll(fd, header, header.length, 0);
      await fdatasync(fd);
      segment.zeroFilled = false;
    }
    if (!content.clean) rebuilt.push(segment.name.replace(/\.seg$/, '.idx'));
    // The last segment's index stays in memory until the next roll or close, and the file is emptied now:
    // entries past a cut would point at other records once appends go on. Emptying needs no free space,
    // so a log opens on a full disk; a crash before the next close costs one scan of this segment.
    await emptyFile(segment.indexPath);
    segment.size = size;
    segment.readableSize = size;
    segment.endSeq = scan.endSeq;
    segment.readableEndSeq = scan.endSeq;
    if (scan.lastTimestamp > 0) segment.lastWriteMs = scan.lastTimestamp;
    await fsyncDir(segDir);
    return { segment, report, lostEnd };
  } catch (err) {
    await segment.close();
    throw err;
  }
}

async function validFrameAt(fd: number, offset: number, size: number, seq: number): Promise<boolean> {
  if (offset + 30 > size) return false;
  const head = Buffer.allocUnsafe(8);
  await readFully(fd, head, 0, 8, offset);
  const total = head.readUInt32LE(0) + 8;
  if (total < 30 || offset + total > size) return false;
  const buf = Buffer.allocUnsafe(total);
  await readFully(fd, buf, 0, total, offset);
  return checkFrame(buf, 0, total) === total && frameSeq(buf, 0) === seq;
}
