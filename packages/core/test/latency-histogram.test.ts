import { backoffDelay, retryPolicy, sleep } from '@q/core';
import { LatencyHistogram } from '@q/core/internal';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('LatencyHistogram', () => {
  it('percentiles of a known distribution are within the bucket precision', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) h.record(i / 100); // 0.01 .. 100 ms, uniform
    const s = h.summary();
    expect(s.count).toBe(10_000);
    expect(s.mean).toBeCloseTo(50.005, 1);
    expect(Math.abs(s.p50 - 50) / 50).toBeLessThan(0.07);
    expect(Math.abs(s.p90 - 90) / 90).toBeLessThan(0.07);
    expect(Math.abs(s.p99 - 99) / 99).toBeLessThan(0.07);
    expect(s.max).toBe(100);
  });

  it('is all zeros when empty, and since() gives the window between snapshots', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
    for (let i = 0; i < 100; i++) h.record(1);
    const snap = h.snapshot();
    for (let i = 0; i < 100; i++) h.record(10);
    const window = h.since(snap).summary();
    expect(window.count).toBe(100);
    expect(Math.abs(window.p50 - 10) / 10).toBeLessThan(0.07);
  });
});

describe('LatencyHistogram.buckets (cumulative counts for a Prometheus histogram)', () => {
  const exactAtMost = (values: number[], boundUs: number) => values.filter((v) => v <= boundUs).length;

  it('is exact at the histogram bucket edges, and within the straddling bucket elsewhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5_000_000 }), { maxLength: 400 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 6_000_000 }), { minLength: 1, maxLength: 12 }),
        (values, rawBounds) => {
          const h = new LatencyHistogram();
          for (const us of values) h.record(us / 1000);
          // Edges: the last value of a bucket (15; 2^k + m * 2^(k-4) - 1) counts exactly.
          const edges = [15, 31, 47, 1023, 1087, 65_535, 4_194_303];
          const atEdges = h.buckets(edges.map((us) => us / 1000));
          expect(atEdges.cumulative).toEqual(edges.map((us) => exactAtMost(values, us)));
          const bounds = [...rawBounds].sort((a, b) => a - b);
          const got = h.buckets(bounds.map((us) => us / 1000));
          expect(got.count).toBe(values.length);
          expect(got.sumMs).toBeCloseTo(values.reduce((a, b) => a + b, 0) / 1000, 6);
          got.cumulative.forEach((c, i) => {
            const bound = bounds[i] as number;
            const near = values.filter((v) => Math.abs(v - bound) <= bound / 16 + 1).length;
            expect(Math.abs(c - exactAtMost(values, bound))).toBeLessThanOrEqual(near);
            expect(c).toBeLessThanOrEqual(values.length);
            if (i > 0) expect(c).toBeGreaterThanOrEqual(got.cumulative[i - 1] as number);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('spreads a bucket evenly over its values for a bound inside it', () => {
    const h = new LatencyHistogram();
    // Bucket [1024, 1088) us: 16 durations spread evenly, 8 of them at most 1055 us.
    for (let k = 0; k < 16; k++) h.record((1024 + 4 * k) / 1000);
    expect(h.buckets([1.055, 1.087]).cumulative).toEqual([8, 16]);
  });

  it('refuses bounds that are not ascending, finite and >= 0', () => {
    const h = new LatencyHistogram();
    expect(() => h.buckets([1, 1])).toThrow(RangeError);
    expect(() => h.buckets([-1])).toThrow(RangeError);
    expect(() => h.buckets([Number.POSITIVE_INFINITY])).toThrow(RangeError);
    expect(h.buckets([])).toEqual({ boundsMs: [], cumulative: [], count: 0, sumMs: 0 });
  });
});

describe('back-off', () => {
  it('grows exponentially up to the cap; full jitter stays within [0, delay]', () => {
    const p = retryPolicy({ minDelayMs: 10, maxDelayMs: 100, factor: 2, jitter: false });
    expect([1, 2, 3, 4, 5, 6].map((r) => backoffDelay(p, r))).toEqual([10, 20, 40, 80, 100, 100]);
    const j = retryPolicy({ minDelayMs: 10, maxDelayMs: 100 });
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(j, 3);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(40);
    }
  });

  it('sleep ends early on abort', async () => {
    const c = new AbortController();
    const t0 = performance.now();
    const s = sleep(10_000, c.signal);
    c.abort();
    await s;
    // Far below the 10 s sleep; the slack is for a descheduled CI machine, not what is tested.
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
