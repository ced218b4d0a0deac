/**
 * CRC-32C (Castagnoli), the checksum of Kafka record batches, computed slicing-by-8: eight bytes per
 * step through eight 256-entry tables. Checking every produced batch byte by byte was most of the
 * broker's produce cost; this is two to three times faster in plain JavaScript, so the testkit keeps
 * depending on nothing (a native module would have to be built or downloaded per platform).
 */

/** The reflected Castagnoli polynomial. */
const POLYNOMIAL = 0x82f63b78;

/**
 * `TABLES[k * 256 + n]`: the CRC of byte `n` followed by `k` zero bytes. One flat array keeps the
 * eight tables next to each other in memory.
 */
const TABLES = (() => {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLYNOMIAL ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const previous = t[(k - 1) * 256 + n] as number;
      t[k * 256 + n] = (t[previous & 0xff] as number) ^ (previous >>> 8);
    }
  }
  return t;
})();

/** Whether an Int32Array reads memory little-endian, as the CRC's byte order needs (x64, arm64). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Inputs at least this long are read four bytes per load through an Int32Array view: fewer loads,
 * but making the view costs about as much as a hundred bytes, so short inputs read bytes.
 */
const WORDS_FROM = 256;

/** One slicing-by-8 step: `lo` is the CRC xor-ed with bytes 0..3 (little-endian), `hi` bytes 4..7. */
function step(t: Int32Array, lo: number, hi: number): number {
  return (
    (t[1792 + (lo & 0xff)] as number) ^
    (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
    (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
    (t[1024 + (lo >>> 24)] as number) ^
    (t[768 + (hi & 0xff)] as number) ^
    (t[512 + ((hi >>> 8) & 0xff)] as number) ^
    (t[256 + ((hi >>> 16) & 0xff)] as number) ^
    (t[hi >>> 24] as number)
  );
}

/** CRC-32C of `data[start, end)`, as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  const t = TABLES;
  let crc = -1;
  let i = start;
  if (LITTLE_ENDIAN && end - i >= WORDS_FROM) {
    // A byte at a time up to a 4-byte boundary of the underlying memory, then 8 bytes per step.
    for (; ((data.byteOffset + i) & 3) !== 0; i++)
      crc = (t[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
    const pairs = (end - i) >>> 3;
    const words = new Int32Array(data.buffer, data.byteOffset + i, pairs * 2);
    for (let w = 0; w < words.length; w += 2) crc = step(t, crc ^ (words[w] as number), words[w + 1] as number);
    i += pairs * 8;
  } else {
    for (const stop = end - 8; i <= stop; i += 8) {
      const lo =
        (data[i] as number) |
        ((data[i + 1] as number) << 8) |
        ((data[i + 2] as number) << 16) |
        ((data[i + 3] as number) << 24);
      const hi =
        (data[i + 4] as number) |
        ((data[i + 5] as number) << 8) |
        ((data[i + 6] as number) << 16) |
        ((data[i + 7] as number) << 24);
      crc = step(t, crc ^ lo, hi);
    }
  }
  // The tail (under eight bytes) one at a time.
  for (; i < end; i++) crc = (t[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
