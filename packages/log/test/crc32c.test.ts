import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../src/crc32c.js';
import { isStaged, stagedCrc32c, stageForCrc } from '../src/crc32c-wasm.js';

/** Bit-by-bit CRC-32C, straight from the definition, to check the sliced table version against. */
function reference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('has the CRC-32C check value 0xE3069283 for "123456789" (not CRC-32/IEEE 0xCBF43926)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('equals a bitwise reference on random data of every length up to 300 and at random offsets', () => {
    for (let len = 0; len <= 300; len++) {
      const data = randomBytes(len + 16);
      const start = len % 7;
      expect(crc32c(data, start, start + len)).toBe(reference(data.subarray(start, start + len)));
    }
    const big = randomBytes(1 << 16);
    expect(crc32c(big)).toBe(reference(big));
  });

  it('continues across calls', () => {
    const data = randomBytes(1000);
    expect(crc32c(data, 300, 1000, crc32c(data, 0, 300))).toBe(crc32c(data));
  });
});

describe('crc32c in WebAssembly over a staged chunk', () => {
  it('has the check value and equals the bitwise reference at every length up to 300, offset and seed', () => {
    const check = Buffer.from('123456789');
    stageForCrc(check, check.length);
    expect(isStaged(check)).toBe(true);
    expect(stagedCrc32c(check, 0, 9)).toBe(0xe3069283);
    const chunk = randomBytes(64 * 1024);
    stageForCrc(chunk, chunk.length);
    for (let len = 0; len <= 300; len++) {
      const start = (len * 37) % 1000;
      expect(stagedCrc32c(chunk, start, start + len)).toBe(reference(chunk.subarray(start, start + len)));
      const cut = start + (len >> 1);
      expect(stagedCrc32c(chunk, cut, start + len, stagedCrc32c(chunk, start, cut))).toBe(
        crc32c(chunk, start, start + len),
      );
    }
    expect(stagedCrc32c(chunk, 0, chunk.length)).toBe(reference(chunk));
  });

  it('grows its memory for a chunk above 1 MiB, and falls back to JavaScript for a buffer not staged', () => {
    const big = randomBytes(3 * 1024 * 1024 + 5);
    stageForCrc(big, big.length - 2);
    expect(stagedCrc32c(big, 1, big.length - 2)).toBe(crc32c(big, 1, big.length - 2));
    const other = randomBytes(500);
    expect(isStaged(other)).toBe(false);
    expect(stagedCrc32c(other, 3, 499)).toBe(reference(other.subarray(3, 499)));
  });
});
