import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_METADATA_BUDGET, OffsetMapBuilder, OffsetSkipSet } from '../src/offset-map.js';

/** Sorted distinct distances from the base, dense or sparse. */
const deltas = fc
  .oneof(
    fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { maxLength: 400, size: 'max' }),
    // Runs: settled stretches separated by gaps, as key mode leaves them.
    fc
      .array(fc.tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 })), {
        maxLength: 60,
        size: 'max',
      })
      .map((pairs) => {
        const out: number[] = [];
        let at = 0;
        for (const [gap, run] of pairs) {
          at += gap;
          for (let i = 0; i < run; i++) out.push(at + i);
          at += run;
        }
        return out;
      }),
  )
  .map((a) => [...a].sort((x, y) => x - y));
const bases = fc.bigInt({ min: 0n, max: 2n ** 50n });

function build(base: bigint, ds: readonly number[], budget?: number): string | undefined {
  const b = new OffsetMapBuilder(base, budget);
  for (const d of ds) b.add(d);
  return b.encode();
}

/** Every offset in [from, to) the decoded set holds, asked in increasing order (as fetches ask). */
function members(set: OffsetSkipSet | undefined, from: number, to: number): number[] {
  const out: number[] = [];
  if (set === undefined) return out;
  for (let o = from; o < to; o++) if (set.has(o)) out.push(o);
  return out;
}

describe('offset map codec', () => {
  it('round-trips any set of settled offsets above any base when the budget allows', () => {
    fc.assert(
      fc.property(bases, deltas, (base, ds) => {
        const metadata = build(base, ds, 1 << 20);
        if (ds.length === 0) {
          expect(metadata).toBeUndefined();
          return;
        }
        const set = OffsetSkipSet.decode(metadata, base);
        const origin = Number(base);
        expect(members(set, origin, origin + (ds.at(-1) as number) + 2)).toEqual(ds.map((d) => origin + d));
        expect(set?.size).toBe(ds.length);
      }),
    );
  });

  it('fits the 4 KiB default, and a map too big keeps a prefix: never an offset that was not settled', () => {
    // Up to 200,000 offsets apart: far beyond what 3 KiB of bitmap or runs can hold when scattered.
    const wide = fc
      .uniqueArray(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 20_000, size: 'max' })
      .map((a) => [...a].sort((x, y) => x - y));
    fc.assert(
      fc.property(bases, fc.oneof(wide, deltas), (base, ds) => {
        const metadata = build(base, ds);
        expect((metadata ?? '').length).toBeLessThanOrEqual(DEFAULT_METADATA_BUDGET);
        const origin = Number(base);
        const got = members(OffsetSkipSet.decode(metadata, base), origin, origin + 200_002);
        // A prefix of what was settled: got = ds cut after some offset.
        expect(got).toEqual(ds.slice(0, got.length).map((d) => origin + d));
        // ...and at least the first run always fits.
        expect(got.length).toBeGreaterThanOrEqual(Math.min(1, ds.length));
      }),
      { numRuns: 40 },
    );
  });

  it('writes the smaller encoding: a bitmap for scattered offsets, runs for long stretches', () => {
    const scattered = Array.from({ length: 4000 }, (_, i) => 2 * i + 1);
    const bitmap = build(0n, scattered) as string;
    expect(Buffer.from(bitmap, 'base64url')[1]).toBe(1);
    expect(bitmap.length).toBeLessThanOrEqual(Math.ceil(((2 + 1 + 1000) * 4) / 3));
    const stretches = Array.from({ length: 100_000 }, (_, i) => i + 1);
    const runs = build(123_456n, stretches) as string;
    expect(Buffer.from(runs, 'base64url')[1]).toBe(2);
    expect(runs.length).toBeLessThan(20);
    expect(OffsetSkipSet.decode(runs, 123_456n)?.size).toBe(100_000);
  });

  it('compresses a bitmap too wide for 4 KiB when that makes it fit (key mode: settled offsets follow the keys)', () => {
    // 60,000 offsets of 101 keys in turn; about half the keys (scattered) done up to 50,000, the
    // rest only up to 10,000: too many runs, too wide a bitmap, but a bitmap that repeats.
    const ds: number[] = [];
    for (let d = 1; d < 60_000; d++) if (d < (((d % 101) * 37) % 101 < 50 ? 50_000 : 10_000)) ds.push(d);
    const metadata = build(7n, ds) as string;
    expect(metadata.length).toBeLessThanOrEqual(DEFAULT_METADATA_BUDGET);
    expect(Buffer.from(metadata, 'base64url')[1]).toBe(3);
    expect(members(OffsetSkipSet.decode(metadata, 7n), 7, 60_010)).toEqual(ds.map((d) => d + 7));
  });

  it('ignores metadata that is empty, null, not ours, or relative to another committed offset', () => {
    const ours = build(1000n, [1, 2, 5]) as string;
    expect(OffsetSkipSet.decode(ours, 1000n)?.size).toBe(3);
    expect(OffsetSkipSet.decode(ours, 1001n)).toBeUndefined(); // an offset reset kept the old metadata
    expect(OffsetSkipSet.decode(null, 1000n)).toBeUndefined();
    expect(OffsetSkipSet.decode('', 1000n)).toBeUndefined();
    expect(OffsetSkipSet.decode('event-id-3', 1000n)).toBeUndefined();
    expect(OffsetSkipSet.decode('{"v":1}', 1000n)).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), bases, (s, base) => {
        // Arbitrary strings never throw, and almost never name our base; if one does, it decodes to
        // ranges at or above it only.
        const set = OffsetSkipSet.decode(s, base);
        if (set !== undefined) expect(set.has(Number(base) - 1)).toBe(false);
      }),
    );
  });

  it('answers membership in any order, not only the fetch order', () => {
    fc.assert(
      fc.property(
        deltas,
        fc.array(fc.integer({ min: -5, max: 5100 }), { maxLength: 200, size: 'max' }),
        (ds, queries) => {
          const set = OffsetSkipSet.decode(build(10n, ds), 10n);
          const expected = new Set(ds.map((d) => d + 10));
          for (const q of queries) expect(set?.has(q) ?? false).toBe(expected.has(q));
        },
      ),
    );
  });
});
