// singleBitError: the syndrome of every single flipped bit is recognised and located, in the message
// and in the stored CRC; other damage (a zeroed block, two flipped bits) almost never is.
import { crc32c } from '@q/log';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { singleBitError } from '../src/crc32c.js';

describe('singleBitError', () => {
  it('finds a flipped bit anywhere in messages of any length, and one in the CRC itself', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.nat(), (bytes, at) => {
        const message = Buffer.from(bytes);
        const stored = crc32c(message);
        const bit = at % (message.length * 8);
        message[bit >> 3] = (message[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(singleBitError(crc32c(message) ^ stored, message.length)).toBe(bit);
        expect(singleBitError(1 << (at % 32), message.length)).toBe(message.length * 8);
      }),
      { numRuns: 300 },
    );
  });

  it('does not take a zeroed block, two flipped bits or an unchanged message for one flipped bit', () => {
    let wrong = 0;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1100, maxLength: 3000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const message = Buffer.from(bytes);
        const stored = crc32c(message);
        expect(singleBitError(0, message.length)).toBe(-1);
        const zeroed = Buffer.from(message);
        const from = a % (message.length - 512);
        zeroed.fill(0, from, from + 512);
        if (!zeroed.equals(message) && singleBitError(crc32c(zeroed) ^ stored, message.length) >= 0) wrong++;
        const two = Buffer.from(message);
        const i = a % (message.length * 8);
        const j = (i + 1 + (b % (message.length * 8 - 1))) % (message.length * 8);
        two[i >> 3] = (two[i >> 3] as number) ^ (1 << (i & 7));
        two[j >> 3] = (two[j >> 3] as number) ^ (1 << (j & 7));
        if (singleBitError(crc32c(two) ^ stored, message.length) >= 0) wrong++;
      }),
      { numRuns: 300 },
    );
    // A syndrome matches one of 8 × length single-bit ones by chance about length / 2^29 of the time.
    expect(wrong).toBeLessThanOrEqual(1);
  });
});
