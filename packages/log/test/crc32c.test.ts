import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../src/crc32c.js';

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
