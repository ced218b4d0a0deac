import { crc32c } from './protocol/crc32c.js';

/** Offsets of the record batch (magic 2) header fields. */
const BASE_OFFSET = 0;
const LENGTH = 8;
const MAGIC = 16;
const CRC = 17;
const ATTRIBUTES = 21;
const LAST_OFFSET_DELTA = 23;
const MAX_TIMESTAMP = 35;
const PRODUCER_ID = 43;
const PRODUCER_EPOCH = 51;
const BASE_SEQUENCE = 53;
const RECORDS_COUNT = 57;
/** Bytes of the header, up to and including the record count. */
export const BATCH_HEADER_BYTES = 61;

/** What the broker reads of a batch: it never decodes records, so compression costs it nothing. */
export interface BatchInfo {
  /** The batch's bytes (a view into the request). */
  readonly bytes: Buffer;
  readonly lastOffsetDelta: number;
  readonly count: number;
  readonly maxTimestamp: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly isTransactional: boolean;
}

/** Why a batch was refused. */
export type BatchProblem = 'corrupt' | 'unsupported-magic';

/**
 * Splits a Produce request's `records` into batches and validates each: size, magic 2, CRC-32C over
 * attributes..end, `lastOffsetDelta == count - 1`.
 */
export function parseBatches(records: Buffer): BatchInfo[] | BatchProblem {
  const out: BatchInfo[] = [];
  let at = 0;
  while (at < records.length) {
    const batch = parseBatch(records, at);
    if (typeof batch === 'string') return batch;
    out.push(batch);
    at += batch.bytes.length;
  }
  return out.length > 0 ? out : 'corrupt';
}

/** The batch starting at `at`, validated as {@link parseBatches} does; `bytes` is a view of `records`. */
export function parseBatch(records: Buffer, at: number): BatchInfo | BatchProblem {
  if (records.length - at < BATCH_HEADER_BYTES) return 'corrupt';
  const length = records.readInt32BE(at + LENGTH);
  const end = at + 12 + length;
  if (length < BATCH_HEADER_BYTES - 12 || end > records.length) return 'corrupt';
  if (records.readInt8(at + MAGIC) !== 2) return 'unsupported-magic';
  const bytes = records.subarray(at, end);
  if (crc32c(bytes, ATTRIBUTES) !== bytes.readUInt32BE(CRC)) return 'corrupt';
  const count = bytes.readInt32BE(RECORDS_COUNT);
  const lastOffsetDelta = bytes.readInt32BE(LAST_OFFSET_DELTA);
  if (count < 1 || lastOffsetDelta !== count - 1) return 'corrupt';
  return {
    bytes,
    lastOffsetDelta,
    count,
    maxTimestamp: bytes.readBigInt64BE(MAX_TIMESTAMP),
    producerId: bytes.readBigInt64BE(PRODUCER_ID),
    producerEpoch: bytes.readInt16BE(PRODUCER_EPOCH),
    baseSequence: bytes.readInt32BE(BASE_SEQUENCE),
    isTransactional: (bytes.readInt16BE(ATTRIBUTES) & 0x10) !== 0,
  };
}

/**
 * The whole, valid batches at the start of a partition file (batches as stored: base offsets
 * rewritten, one after the other from offset 0) and the length they fill. Reading stops at the first
 * batch that is short, fails its CRC or does not start at the offset the previous one ended at: what
 * follows is a torn or damaged tail, never served.
 */
export function scanStoredBatches(file: Buffer): { batches: BatchInfo[]; validBytes: number } {
  const batches: BatchInfo[] = [];
  let at = 0;
  let next = 0n;
  while (at < file.length) {
    const batch = parseBatch(file, at);
    // The base offset is outside the CRC: checking it catches a header written over by garbage.
    if (typeof batch === 'string' || file.readBigInt64BE(at + BASE_OFFSET) !== next) break;
    batches.push(batch);
    next += BigInt(batch.count);
    at += batch.bytes.length;
  }
  return { batches, validBytes: at };
}

/** Copies a batch with its base offset set (the only field the broker writes). */
export function withBaseOffset(batch: Buffer, baseOffset: bigint): Buffer {
  const copy = Buffer.from(batch);
  copy.writeBigInt64BE(baseOffset, BASE_OFFSET);
  return copy;
}
