import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import {
  checkFrame,
  decodeFrame,
  decodeSegmentHeader,
  FRAME_BAD,
  FRAME_OVERHEAD,
  frameSeq,
  frameSize,
  MAX_RECORD_BYTES_LIMIT,
  readU32,
  SEGMENT_HEADER_BYTES,
} from '../format.js';
import type { LogRecord } from '../record.js';

/*
 * Read-only access to a log directory for the CLI: it opens files with 'r' only and never takes the
 * writer's LOCK, so it can look at a log a live process is writing (what it sees past that writer's
 * last sync may still change).
 */

/** A segment file as listed in `dir/segments`. */
export interface SegmentFile {
  /** File name, `<20-digit first seq>.seg`. */
  readonly name: string;
  readonly path: string;
  /** The first seq its name gives. */
  readonly firstSeq: number;
  /** Its size in bytes when listed. */
  readonly bytes: number;
  /** Its sparse index beside it. */
  readonly indexPath: string;
  /** The index's size, or undefined when it has none. */
  readonly indexBytes: number | undefined;
}

const SEGMENT_NAME = /^(\d{20})\.seg$/;

/** The segments of a log directory in seq order (none when `dir/segments` does not exist). */
export async function listSegments(dir: string): Promise<SegmentFile[]> {
  const segDir = join(dir, 'segments');
  let names: string[];
  try {
    names = await fsp.readdir(segDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: SegmentFile[] = [];
  for (const name of names) {
    const m = SEGMENT_NAME.exec(name);
    if (m === null) continue;
    const path = join(segDir, name);
    const indexPath = path.replace(/\.seg$/, '.idx');
    const stat = await fsp.stat(path).catch(() => undefined);
    if (stat === undefined) continue; // deleted by retention meanwhile
    const index = await fsp.stat(indexPath).catch(() => undefined);
    out.push({ name, path, firstSeq: Number(m[1]), bytes: stat.size, indexPath, indexBytes: index?.size });
  }
  return out.sort((a, b) => a.firstSeq - b.firstSeq);
}

/** One step of {@link scanSegment}. */
export type ScanItem =
  /** A whole frame whose CRC matched; `record` is decoded unless `decode: false`. */
  | {
      readonly kind: 'record';
      readonly offset: number;
      readonly size: number;
      readonly seq: number;
      readonly record: LogRecord | undefined;
    }
  | { readonly kind: 'header'; readonly offset: 0; readonly reason: string }
  /** The file ends inside a frame: a torn tail, or a write under way. */
  | { readonly kind: 'incomplete'; readonly offset: number; readonly bytes: number }
  /** A frame length of 0 (never written): where a zero-filled segment's records end, or a hole in it. */
  | { readonly kind: 'zeros'; readonly offset: number; readonly bytes: number }
  /** The frame at `offset` fails its length checks or its CRC-32C. */
  | { readonly kind: 'bad'; readonly offset: number; readonly bytes: number; readonly reason: string };

const CHUNK = 1 << 20;

/**
 * Walks the frames of one segment from `from` (a frame boundary; the first one after the header by
 * default) to its end, checking each frame's CRC. Stops after a bad header, a bad frame or an
 * incomplete one; `decode: false` checks without building records (verify).
 */
export async function* scanSegment(
  path: string,
  options: { from?: number; decode?: boolean } = {},
): AsyncGenerator<ScanItem> {
  const decode = options.decode ?? true;
  const fh = await fsp.open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    if (options.from === undefined || options.from < SEGMENT_HEADER_BYTES) {
      const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
      const { bytesRead } = await fh.read(head, 0, SEGMENT_HEADER_BYTES, 0);
      const header = decodeSegmentHeader(head.subarray(0, bytesRead));
      if ('error' in header) {
        yield { kind: 'header', offset: 0, reason: header.error };
        return;
      }
    }
    let buf = Buffer.alloc(CHUNK);
    let base = Math.max(options.from ?? SEGMENT_HEADER_BYTES, SEGMENT_HEADER_BYTES); // file offset of buf[0]
    let filled = 0;
    let p = 0;
    for (;;) {
      const eof = base + filled >= size;
      if (p + 4 <= filled && readU32(buf, p) === 0) {
        yield { kind: 'zeros', offset: base + p, bytes: size - base - p };
        return;
      }
      const r = checkFrame(buf, p, filled);
      if (r > 0) {
        let decoded: LogRecord;
        try {
          // Decoded for verify too: header entries that do not fill their length pass the CRC (a frame our
          // writer never makes) and are only found by decoding.
          decoded = decodeFrame(buf, p);
        } catch {
          yield {
            kind: 'bad',
            offset: base + p,
            bytes: size - base - p,
            reason: 'header entry lengths do not fill the headers length',
          };
          return;
        }
        // The buffer is reused for the next chunk: the body gets its own copy.
        const record = decode ? { ...decoded, body: Buffer.from(decoded.body) } : undefined;
        yield { kind: 'record', offset: base + p, size: r, seq: frameSeq(buf, p), record };
        p += r;
        continue;
      }
      if (r === FRAME_BAD) {
        yield { kind: 'bad', offset: base + p, bytes: size - base - p, reason: badReason(buf, p) };
        return;
      }
      // FRAME_INCOMPLETE: read on, keeping the partial frame at the buffer's start.
      if (eof) {
        if (p < filled) yield { kind: 'incomplete', offset: base + p, bytes: filled - p };
        return;
      }
      buf.copy(buf, 0, p, filled);
      base += p;
      filled -= p;
      p = 0;
      const need = filled >= 8 ? Math.min(frameSize(buf, 0), MAX_RECORD_BYTES_LIMIT + 64) : 0;
      if (need > buf.length) {
        const bigger = Buffer.alloc(need);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, base + filled);
      if (bytesRead === 0) {
        if (filled > 0) yield { kind: 'incomplete', offset: base, bytes: filled };
        return;
      }
      filled += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Why `checkFrame` refused the frame at `p`, in words. */
function badReason(buf: Buffer, p: number): string {
  const len = buf.readUInt32LE(p);
  if (len < FRAME_OVERHEAD - 8 || len > MAX_RECORD_BYTES_LIMIT + FRAME_OVERHEAD)
    return `frame length ${len} out of range`;
  return 'checksum (CRC-32C) or inner lengths do not match';
}
