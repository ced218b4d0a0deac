import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameAligner } from '../src/frame-aligner.js';

/** A Kafka frame: a 4-byte big-endian length, then that many bytes. */
function frame(body: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

/** `stream` cut into chunks at `cuts` (positions, any order, repeats allowed). */
function chunks(stream: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, stream.length]) {
    if (c > from) out.push(stream.subarray(from, c));
    from = c;
  }
  return out;
}

describe('FrameAligner', () => {
  it('hands on whole frames only: what comes out is exactly the frames complete so far, however the bytes arrive', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.nat(),
        (bodies, cuts, stopAt) => {
          const frames = bodies.map(frame);
          const stream = Buffer.concat(frames);
          // The connection dies after `end` bytes: a half frame at its end must never come out.
          const end = stopAt % (stream.length + 1);
          const aligner = new FrameAligner();
          const out: Buffer[] = [];
          for (const chunk of chunks(stream.subarray(0, end), cuts)) {
            const whole = aligner.push(chunk);
            if (whole !== undefined) {
              expect(whole.length).toBeGreaterThan(0);
              out.push(whole);
            }
          }
          let complete = 0;
          for (let i = 0, at = 0; i < frames.length; i++) {
            at += (frames[i] as Buffer).length;
            if (at <= end) complete = at;
          }
          expect(Buffer.concat(out).equals(stream.subarray(0, complete))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a frame whose length is zero or negative ends with its prefix', () => {
    const aligner = new FrameAligner();
    const zero = Buffer.from([0, 0, 0, 0]);
    const negative = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    expect(aligner.push(zero.subarray(0, 3))).toBeUndefined();
    expect(aligner.push(Buffer.concat([zero.subarray(3), negative]))?.length).toBe(8);
  });

  it('reset drops a held half frame: the next bytes start a new frame', () => {
    const aligner = new FrameAligner();
    const a = frame(Buffer.from('first'));
    const b = frame(Buffer.from('second'));
    expect(aligner.push(a.subarray(0, 6))).toBeUndefined();
    aligner.reset();
    expect(aligner.push(b)?.equals(b)).toBe(true);
  });
});
