import { describe, expect, it } from 'vitest';
import { verifyFrames } from '../src/crc32c-wasm.js';
import {
  checkFrame,
  encodeFrame,
  FRAME_BAD,
  FRAME_OVERHEAD,
  frameSeq,
  headersBytes,
  sealFrame,
  writeU64,
} from '../src/format.js';

/** A chunk of frames of many shapes from seq `first` on, and the offset where each frame starts. */
function chunk(first: number, count = 24): { buf: Buffer; starts: number[] } {
  const parts: Buffer[] = [];
  const starts: number[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const headers = i % 3 === 0 ? { id: `${i}`, κλειδί: 'τιμή' } : undefined;
    const body = Buffer.alloc([0, 1, 7, 15, 16, 17, 128, 300, 5000][i % 9] as number, i + 1);
    const hLen = headersBytes(headers);
    const f = Buffer.alloc(FRAME_OVERHEAD + hLen + body.length);
    encodeFrame(f, 0, first + i, 1_700_000_000_000 + i, headers, hLen, body, body.length);
    starts.push(at);
    at += f.length;
    parts.push(f);
  }
  starts.push(at);
  return { buf: Buffer.concat(parts), starts };
}

/** The checks one frame at a time in JavaScript: what verifyFrames must agree with. */
function reference(buf: Buffer, start: number, end: number, maxFrames: number, firstSeq: number): number {
  let at = start;
  for (let n = 0; n < maxFrames; n++) {
    const total = checkFrame(buf, at, end);
    if (total < 0 || frameSeq(buf, at) !== firstSeq + n) break;
    at += total;
  }
  return at;
}

/** verifyFrames over `buf[start, end)`, checked against {@link reference}; the chunk is left as it was. */
function verifyBoth(buf: Buffer, start: number, end: number, maxFrames: number, firstSeq: number): number {
  const copy = Buffer.from(buf);
  const got = verifyFrames(buf, start, end, maxFrames, firstSeq);
  expect(got).toBe(reference(buf, start, end, maxFrames, firstSeq));
  expect(buf.equals(copy)).toBe(true);
  return got;
}

describe('verifyFrames (the read path checks a whole run of frames in one call)', () => {
  it('accepts valid chunks whole, from any frame, up to maxFrames, with seqs across 2^32', () => {
    for (const first of [0, 2 ** 32 - 5, 2 ** 40 + 3]) {
      const { buf, starts } = chunk(first);
      expect(verifyBoth(buf, 0, buf.length, 1e9, first)).toBe(buf.length);
      for (let k = 0; k < starts.length - 1; k++) {
        expect(verifyBoth(buf, starts[k] as number, buf.length, 1e9, first + k)).toBe(buf.length);
        expect(verifyBoth(buf, 0, buf.length, k, first)).toBe(starts[k]);
      }
      // The wrong first seq: nothing is good.
      expect(verifyBoth(buf, 0, buf.length, 1e9, first + 1)).toBe(0);
    }
  });

  it('stops before a middle frame with any single bit flipped, in any field', () => {
    const first = 2 ** 32 - 7;
    const { buf, starts } = chunk(first, 12);
    const m = 6;
    const from = starts[m] as number;
    const to = starts[m + 1] as number;
    for (let byte = from; byte < to; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Buffer.from(buf);
        bad[byte] = (bad[byte] as number) ^ (1 << bit);
        expect(verifyBoth(bad, 0, bad.length, 1e9, first)).toBe(from);
        expect(checkFrame(bad, from, bad.length)).toBeLessThan(0);
      }
    }
  });

  it('stops at a frame whose CRC is right but whose inner lengths or seq are not', () => {
    const { buf, starts } = chunk(100, 9);
    const m = 3; // headers and a 15 B body
    const at = starts[m] as number;
    const end = starts[m + 1] as number;
    const reseal = (edit: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(buf);
      edit(b);
      sealFrame(b, at, end);
      return b;
    };
    const hLen = buf.readUInt16LE(at + 24);
    const cases = [
      reseal((b) => b.writeUInt16LE(hLen + 1, at + 24)), // headers length off by one
      reseal((b) => b.writeUInt16LE(0xffff, at + 24)), // headers longer than the frame
      reseal((b) => b.writeUInt32LE(b.readUInt32LE(at + 26 + hLen) + 1, at + 26 + hLen)), // body length
      reseal((b) => b.writeUInt32LE(0xffffffff, at + 26 + hLen)),
      reseal((b) => writeU64(b, at + 8, 100 + m + 1)), // seq ahead
      reseal((b) => writeU64(b, at + 8, 100 + m + 2 ** 32)), // seq off in its high half only
    ];
    for (const bad of cases) expect(verifyBoth(bad, 0, bad.length, 1e9, 100)).toBe(at);
    expect(checkFrame(cases[0] as Buffer, at, buf.length)).toBe(FRAME_BAD);
    // A length field beyond any record: stops, and never reads past the end.
    const huge = Buffer.from(buf);
    huge.writeUInt32LE(0xffffffff, at);
    expect(verifyBoth(huge, 0, huge.length, 1e9, 100)).toBe(at);
  });

  it('a chunk cut at every byte: the frames whole before the cut, never more', () => {
    const { buf, starts } = chunk(7, 10);
    for (let cut = 0; cut <= buf.length; cut++) {
      const whole = starts.filter((s) => s <= cut).at(-1) as number;
      expect(verifyBoth(buf, 0, cut, 1e9, 7)).toBe(whole);
    }
  });

  it('checks frames larger than its 64 KiB pieces, and above 8 MiB in JavaScript, with runs across pieces', () => {
    const sizes = [100, 70_000, 65_000, 9 * 1024 * 1024, 3, 200_000, 64 * 1024 - 30, 64 * 1024 - 29, 10];
    const frames = sizes.map((size, i) => {
      const f = Buffer.alloc(FRAME_OVERHEAD + size);
      encodeFrame(f, 0, 50 + i, 1, undefined, 0, Buffer.alloc(size, i), size);
      return f;
    });
    const small = Array.from({ length: 3000 }, (_, i) => {
      const f = Buffer.alloc(FRAME_OVERHEAD + 50);
      encodeFrame(f, 0, 50 + sizes.length + i, 1, undefined, 0, Buffer.alloc(50, i), 50);
      return f;
    });
    const buf = Buffer.concat([...frames, ...small]);
    expect(verifyBoth(buf, 0, buf.length, 1e9, 50)).toBe(buf.length);
    const starts = [0];
    for (const f of [...frames, ...small]) starts.push((starts.at(-1) as number) + f.length);
    for (const k of [1, 2, 3, 4, 5, 8, 9, 100, 2000]) expect(verifyBoth(buf, 0, buf.length, k, 50)).toBe(starts[k]);
    // Damage in the frame above 8 MiB, and in a small frame after a few pieces.
    for (const at of [(starts[3] as number) + 5_000_000, (starts[sizes.length + 2500] as number) + 40]) {
      const bad = Buffer.from(buf);
      bad[at] = (bad[at] as number) ^ 1;
      expect(verifyBoth(bad, 0, bad.length, 1e9, 50)).toBe(starts.filter((s) => s <= at).at(-1));
    }
  });
});
