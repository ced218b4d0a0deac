import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { crc32c } from '@q/kafka-testkit';
import { describe, expect, it } from 'vitest';

// kafkajs's own byte-at-a-time CRC-32C, used as an oracle only.
const require = createRequire(import.meta.url);
const oracle = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (data: Buffer) => number;

describe('crc32c (slicing-by-8)', () => {
  it('matches the published CRC-32C check values (RFC 3720 B.4 and the usual "123456789")', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
  });

  it('agrees with kafkajs for every length 0..64 and every start offset 0..8 (each tail and alignment)', () => {
    const data = randomBytes(80);
    let compared = 0;
    for (let start = 0; start <= 8; start++) {
      for (let length = 0; length <= 64; length++) {
        const end = start + length;
        expect(crc32c(data, start, end)).toBe(oracle(data.subarray(start, end)));
        compared++;
      }
    }
    expect(compared).toBe(9 * 65);
  });

  it('agrees with kafkajs past the word-read threshold, for every alignment and every tail', () => {
    const data = randomBytes(300);
    let compared = 0;
    for (let start = 0; start < 8; start++) {
      for (let length = 255; length <= 264; length++) {
        expect(crc32c(data, start, start + length)).toBe(oracle(data.subarray(start, start + length)));
        compared++;
      }
    }
    expect(compared).toBe(8 * 10);
  });

  it('agrees with kafkajs on large buffers and on views into a larger buffer', () => {
    for (const size of [1000, 4096, 65_537, 1 << 20]) {
      const data = randomBytes(size);
      expect(crc32c(data)).toBe(oracle(data));
      const view = new Uint8Array(data.buffer, data.byteOffset + 3, size - 7);
      expect(crc32c(view)).toBe(oracle(Buffer.from(view)));
    }
  });
});
