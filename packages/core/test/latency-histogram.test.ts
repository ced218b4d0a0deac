import { backoffDelay, retryPolicy, sleep } from '@q/core';
import { LatencyHistogram } from '@q/core/internal';
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
    expect(performance.now() - t0).toBeLessThan(100);
  });
});
