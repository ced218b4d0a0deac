/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78; check value 0xE3069283 for "123456789"), the
 * checksum Kafka record batches and iSCSI use. Node 20's `zlib.crc32` is CRC-32/IEEE and has no CRC-32C,
 * and a native package would be a dependency to build, so this is slicing-by-8 over eight 256-entry
 * tables: eight bytes per step, fast enough to check every frame during a replay.
 */

const POLY = 0x82f63b78;
const TABLES = new Int32Array(8 * 256);
/** The eight slicing tables (256 entries each), shared with the WebAssembly version. */
export const CRC32C_TABLES: Readonly<Int32Array> = TABLES;

for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLES[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLES[n] as number;
  for (let t = 1; t < 8; t++) {
    c = (TABLES[c & 0xff] as number) ^ (c >>> 8);
    TABLES[t * 256 + n] = c;
  }
}

/**
 * The CRC-32C of `data[start, end)`, continuing from `previous` (the result of an earlier call over the
 * bytes before, or 0 to start).
 * @returns an unsigned 32-bit integer
 */
export function crc32c(data: Uint8Array, start = 0, end = data.length, previous = 0): number {
  const t = TABLES;
  let crc = ~previous;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const lo =
      crc ^
      ((data[i] as number) |
        ((data[i + 1] as number) << 8) |
        ((data[i + 2] as number) << 16) |
        ((data[i + 3] as number) << 24));
    const hi =
      (data[i + 4] as number) |
      ((data[i + 5] as number) << 8) |
      ((data[i + 6] as number) << 16) |
      ((data[i + 7] as number) << 24);
    crc =
      (t[1792 + (lo & 0xff)] as number) ^
      (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
      (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
      (t[1024 + (lo >>> 24)] as number) ^
      (t[768 + (hi & 0xff)] as number) ^
      (t[512 + ((hi >>> 8) & 0xff)] as number) ^
      (t[256 + ((hi >>> 16) & 0xff)] as number) ^
      (t[hi >>> 24] as number);
    i += 8;
  }
  while (i < end) {
    crc = (t[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}

/**
 * Where one flipped bit would make the CRC-32C stored for a message of `length` bytes differ from the
 * one its bytes now have by `syndrome` (their XOR): the bit's index in the message (byte * 8 + bit, bit 0
 * the least significant), `length * 8` when the flipped bit is in the stored CRC itself, or -1 when no
 * single bit explains it. CRC-32C is linear, so a flipped bit's syndrome depends only on where it is:
 * the bit's byte through the table, then one register shift per byte after it. Checks every position
 * (8 table steps per byte): for recovery's rare path, telling a bit flipped in a record from a page a
 * power loss did not write.
 */
export function singleBitError(syndrome: number, length: number): number {
  const s = syndrome >>> 0;
  if (s === 0) return -1;
  if ((s & (s - 1)) === 0) return length * 8;
  const t = TABLES;
  const regs = new Int32Array(8);
  for (let b = 0; b < 8; b++) regs[b] = t[1 << b] as number;
  for (let j = length - 1; j >= 0; j--) {
    for (let b = 0; b < 8; b++) {
      const r = regs[b] as number;
      if (r >>> 0 === s) return j * 8 + b;
      regs[b] = (t[r & 0xff] as number) ^ (r >>> 8);
    }
  }
  return -1;
}
