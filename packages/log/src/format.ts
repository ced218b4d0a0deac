import { crc32c } from './crc32c.js';
import { LogCorruptionError } from './errors.js';
import type { LogRecord } from './record.js';

/*
 * The on-disk format, little-endian throughout (docs/log.md describes it byte by byte).
 *
 * Segment header, 16 bytes: "QLOG", u16 version, u16 flags (0), u64 first sequence number.
 * Record frame: u32 frame length (bytes after the CRC field), u32 CRC-32C over the length field and
 * everything after the CRC, u64 seq, u64 timestamp (ms), u16 headers length, headers, u32 body length, body.
 * Headers: repeated [u16 key length][key UTF-8][u16 value length][value UTF-8].
 */

/** "QLOG" read as a little-endian u32. */
export const SEGMENT_MAGIC = 0x474f4c51;
/** Format version written in every segment header. */
export const FORMAT_VERSION = 1;
/** Size of the segment header. */
export const SEGMENT_HEADER_BYTES = 16;
/** Bytes of a frame besides headers and body: length, CRC, seq, timestamp, headers length, body length. */
export const FRAME_OVERHEAD = 30;
/** The frame length field counts everything after the CRC: 30 - 8. */
const LEN_OVERHEAD = FRAME_OVERHEAD - 8;
/** The largest `maxRecordBytes` a log accepts (1 GiB), so a frame length always fits a u32. */
export const MAX_RECORD_BYTES_LIMIT = 1024 * 1024 * 1024;
/** The most bytes a record's headers may take encoded, as {@link headersBytes} counts them (a u16 length). */
export const MAX_HEADERS_BYTES = 0xffff;

const TWO_32 = 2 ** 32;

/**
 * Segment header flag: the segment was written zero-filled ahead of its writer (see `ZeroFill`), so its
 * writes overwrote blocks in place and a power loss may have left holes in its last write.
 */
export const SEGMENT_ZERO_FILLED = 1;

/**
 * Added to the timestamp field of the first frame of every group (one write): recovery tells the pieces
 * of a torn last write from damage by it (no group starts after a hole). Timestamps are ms and stay far
 * below 2^52 (year 142,000); readers take it off. The bit of the high word it sets: {@link GROUP_START_HI}.
 */
export const GROUP_START = 2 ** 52;
/** {@link GROUP_START} as a bit of the timestamp's high 32-bit word. */
export const GROUP_START_HI = 0x100000;

/** A frame's timestamp without the {@link GROUP_START} mark. */
export function unmarkTimestamp(raw: number): number {
  return raw >= GROUP_START ? raw - GROUP_START : raw;
}
const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Writes a safe non-negative integer as a little-endian u64 (two u32 halves: no BigInt per call). */
export function writeU64(buf: Buffer, offset: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  buf.writeUInt32LE(value - hi * TWO_32, offset);
  buf.writeUInt32LE(hi, offset + 4);
}

/** Reads a little-endian u64; values past 2^53 - 1 (never written by us) read as NaN. */
export function readU64(buf: Uint8Array, offset: number): number {
  const lo = readU32(buf, offset);
  const hi = readU32(buf, offset + 4);
  return hi >= 0x200000 ? Number.NaN : hi * TWO_32 + lo;
}

/** Reads a little-endian u32 from any byte array. */
export function readU32(buf: Uint8Array, offset: number): number {
  return (
    ((buf[offset] as number) |
      ((buf[offset + 1] as number) << 8) |
      ((buf[offset + 2] as number) << 16) |
      ((buf[offset + 3] as number) << 24)) >>>
    0
  );
}

/** The 16-byte header of a segment whose first record is `firstSeq`, with `flags` (see {@link SEGMENT_ZERO_FILLED}). */
export function encodeSegmentHeader(firstSeq: number, flags = 0): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  buf.writeUInt32LE(SEGMENT_MAGIC, 0);
  buf.writeUInt16LE(FORMAT_VERSION, 4);
  buf.writeUInt16LE(flags, 6);
  writeU64(buf, 8, firstSeq);
  return buf;
}

/** The first seq and the flags a segment header names, or a reason it is not a header of ours. */
export function decodeSegmentHeader(buf: Uint8Array): { firstSeq: number; flags: number } | { error: string } {
  if (buf.length < SEGMENT_HEADER_BYTES)
    return { error: `header is ${buf.length} bytes, expected ${SEGMENT_HEADER_BYTES}` };
  if (readU32(buf, 0) !== SEGMENT_MAGIC) return { error: 'bad magic (not a QLOG segment)' };
  const version = (buf[4] as number) | ((buf[5] as number) << 8);
  if (version !== FORMAT_VERSION) return { error: `unsupported format version ${version}` };
  const firstSeq = readU64(buf, 8);
  if (Number.isNaN(firstSeq)) return { error: 'first sequence number out of range' };
  return { firstSeq, flags: (buf[6] as number) | ((buf[7] as number) << 8) };
}

/**
 * Encoded size of a record's headers (0 for none): 4 bytes of lengths per entry, then its name and value
 * as UTF-8. What `maxRecordBytes` and {@link MAX_HEADERS_BYTES} count.
 */
export function headersBytes(headers: Readonly<Record<string, string>> | undefined): number {
  if (headers === undefined) return 0;
  let n = 0;
  for (const key in headers) n += 4 + Buffer.byteLength(key) + Buffer.byteLength(headers[key] as string);
  return n;
}

/** Stores `value` (an unsigned 32-bit integer) little-endian: plain byte stores, cheaper than `writeUInt32LE`'s checks. */
export function putU32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value;
  buf[offset + 1] = value >>> 8;
  buf[offset + 2] = value >>> 16;
  buf[offset + 3] = value >>> 24;
}

/** {@link writeU64} without `writeUInt32LE`'s checks, for the write path. */
function putU64(buf: Uint8Array, offset: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  putU32(buf, offset, value - hi * TWO_32);
  putU32(buf, offset + 4, hi);
}

/**
 * Encodes one frame at `offset` of `buf` (which has room for `FRAME_OVERHEAD + hLen + bLen` bytes) except
 * its CRC field, and returns the offset after it; {@link sealFrame} fills the CRC in. The writer encodes a
 * whole group first and then checksums it in one pass.
 */
export function encodeFrameUnsealed(
  buf: Buffer,
  offset: number,
  seq: number,
  timestamp: number,
  headers: Readonly<Record<string, string>> | undefined,
  hLen: number,
  body: Buffer | string,
  bLen: number,
): number {
  const end = offset + FRAME_OVERHEAD + hLen + bLen;
  putU32(buf, offset, end - offset - 8);
  putU64(buf, offset + 8, seq);
  putU64(buf, offset + 16, timestamp);
  buf[offset + 24] = hLen;
  buf[offset + 25] = hLen >>> 8;
  let p = offset + 26;
  if (hLen > 0 && headers !== undefined) {
    for (const key in headers) {
      const value = headers[key] as string;
      const k = buf.write(key, p + 2);
      buf.writeUInt16LE(k, p);
      p += 2 + k;
      const v = buf.write(value, p + 2);
      buf.writeUInt16LE(v, p);
      p += 2 + v;
    }
  }
  putU32(buf, p, bLen);
  p += 4;
  if (typeof body === 'string') buf.write(body, p);
  else buf.set(body, p);
  return end;
}

/**
 * Computes and stores the CRC of the encoded frame `buf[offset, end)` (the length field and everything after
 * the CRC field). `crcOf` computes the checksum (the WebAssembly one over a staged group on the write path).
 */
export function sealFrame(
  buf: Uint8Array,
  offset: number,
  end: number,
  crcOf: (data: Uint8Array, start: number, end: number, previous: number) => number = crc32c,
): void {
  putU32(buf, offset + 4, crcOf(buf, offset + 8, end, crcOf(buf, offset, offset + 4, 0)));
}

/**
 * Encodes one frame, CRC included, at `offset` of `buf` (which has room for `FRAME_OVERHEAD + hLen + bLen`
 * bytes) and returns the offset after it.
 */
export function encodeFrame(
  buf: Buffer,
  offset: number,
  seq: number,
  timestamp: number,
  headers: Readonly<Record<string, string>> | undefined,
  hLen: number,
  body: Buffer | string,
  bLen: number,
): number {
  const end = encodeFrameUnsealed(buf, offset, seq, timestamp, headers, hLen, body, bLen);
  sealFrame(buf, offset, end);
  return end;
}

/** The frame needs more bytes than `[offset, end)` holds. */
export const FRAME_INCOMPLETE = -1;
/** The bytes at `offset` are not a valid frame (bad length, checksum or inner lengths). */
export const FRAME_BAD = -2;

/**
 * Checks the frame at `offset`: its total size when whole and valid, {@link FRAME_INCOMPLETE} when
 * `[offset, end)` ends inside it, {@link FRAME_BAD} when it is damaged. `crcOf` computes the checksum
 * (the WebAssembly one over a staged chunk on the read path).
 */
export function checkFrame(
  buf: Uint8Array,
  offset: number,
  end: number,
  crcOf: (data: Uint8Array, start: number, end: number, previous: number) => number = crc32c,
): number {
  if (end - offset < 8) return FRAME_INCOMPLETE;
  const len = readU32(buf, offset);
  if (len < LEN_OVERHEAD || len > MAX_RECORD_BYTES_LIMIT + LEN_OVERHEAD) return FRAME_BAD;
  const total = len + 8;
  if (end - offset < total) return FRAME_INCOMPLETE;
  const hLen = (buf[offset + 24] as number) | ((buf[offset + 25] as number) << 8);
  if (hLen + LEN_OVERHEAD > len) return FRAME_BAD;
  if (readU32(buf, offset + 26 + hLen) + hLen + LEN_OVERHEAD !== len) return FRAME_BAD;
  const crc = crcOf(buf, offset + 8, offset + total, crcOf(buf, offset, offset + 4, 0));
  return crc === readU32(buf, offset + 4) ? total : FRAME_BAD;
}

/** Length field of the frame at `offset` plus 8 (the frame's total size if it is valid). */
export function frameSize(buf: Uint8Array, offset: number): number {
  return readU32(buf, offset) + 8;
}

/** The seq of the frame at `offset` (frame already checked, or at least 16 bytes present). */
export function frameSeq(buf: Uint8Array, offset: number): number {
  return readU64(buf, offset + 8);
}

/** Decodes a checked frame; the body is a view of `buf`, not a copy. */
export function decodeFrame(buf: Buffer, offset: number): LogRecord {
  const seq = readU64(buf, offset + 8);
  const timestamp = unmarkTimestamp(readU64(buf, offset + 16));
  const hLen = (buf[offset + 24] as number) | ((buf[offset + 25] as number) << 8);
  const headers = hLen === 0 ? EMPTY_HEADERS : decodeHeaders(buf, offset + 26, offset + 26 + hLen);
  if (headers === undefined) throw new RangeError(`frame at ${offset}: ${BAD_HEADERS}`);
  const bodyLength = readU32(buf, offset) - LEN_OVERHEAD - hLen;
  const body = Buffer.from(buf.buffer as ArrayBuffer, buf.byteOffset + offset + 30 + hLen, bodyLength);
  return { seq, timestamp, headers, body };
}

/**
 * Decodes the frames of `buf[from, to)`, already checked (lengths, CRCs, and seqs: the first is `seq`), onto
 * `out`, while their bodies fit in `maxBytes` with `bodyBytes` already taken (one record at least). The
 * bodies are views of `buf`. One DataView per run: an unaligned u32 read is one load in optimized code.
 * Headers whose entries do not fill their length exactly (a frame with a valid CRC our writer never makes)
 * throw `LogCorruptionError` naming `segment` and the frame's offset (`buf[0]` is at `fileOffset`).
 * @returns the body bytes taken, or -1 when it stopped before a record that would pass `maxBytes`
 */
export function decodeRun(
  buf: Buffer,
  from: number,
  to: number,
  seq: number,
  out: LogRecord[],
  bodyBytes: number,
  maxBytes: number,
  segment: string,
  fileOffset: number,
): number {
  const arrayBuffer = buf.buffer as ArrayBuffer;
  const base = buf.byteOffset;
  const view = new DataView(arrayBuffer, base, buf.length);
  for (let at = from; at < to; seq++) {
    const len = view.getUint32(at, true);
    const hLen = view.getUint16(at + 24, true);
    const bodyLength = len - LEN_OVERHEAD - hLen;
    if (out.length > 0 && bodyBytes + bodyLength > maxBytes) return -1;
    const hi = view.getUint32(at + 20, true) & ~GROUP_START_HI;
    const timestamp = hi >= 0x200000 ? Number.NaN : hi * TWO_32 + view.getUint32(at + 16, true);
    const headers = hLen === 0 ? EMPTY_HEADERS : decodeHeaders(buf, at + 26, at + 26 + hLen);
    if (headers === undefined) throw new LogCorruptionError(segment, fileOffset + at, BAD_HEADERS);
    // A plain Buffer view (about 100 ns): a faster Uint8Array subclass in front of Buffer.prototype failed
    // Node's strict deep equality, which compares prototypes (node:assert, node:test, isDeepStrictEqual).
    const body = Buffer.from(arrayBuffer, base + at + 30 + hLen, bodyLength);
    out.push({ seq, timestamp, headers, body });
    bodyBytes += bodyLength;
    at += len + 8;
  }
  return bodyBytes;
}

const BAD_HEADERS = 'header entry lengths do not fill the headers length';

/** The headers in `buf[start, end)`, or undefined when an entry's lengths run past `end` or bytes are left over. */
function decodeHeaders(buf: Buffer, start: number, end: number): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  let p = start;
  while (p < end) {
    if (p + 4 > end) return undefined;
    const k = buf.readUInt16LE(p);
    if (p + 4 + k > end) return undefined;
    const key = buf.toString('utf8', p + 2, p + 2 + k);
    p += 2 + k;
    const v = buf.readUInt16LE(p);
    if (p + 2 + v > end) return undefined;
    const value = buf.toString('utf8', p + 2, p + 2 + v);
    // A key "__proto__" must stay a plain property, not replace the object's prototype.
    if (key === '__proto__')
      Object.defineProperty(headers, key, { value, enumerable: true, writable: true, configurable: true });
    else headers[key] = value;
    p += 2 + v;
  }
  return headers;
}
