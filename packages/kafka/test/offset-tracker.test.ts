import { describe, expect, it } from 'vitest';
import { PartitionTracker, type TrackedMessage } from '../src/offset-tracker.js';

const record = (offset: number) => ({ offset: String(offset), key: null, value: null, timestamp: '0' });

describe('PartitionTracker', () => {
  it('commits up to the first unsettled message, whatever order messages finish in, across offset gaps', () => {
    const t = new PartitionTracker('t', 0);
    // Offsets 10-12, then a gap (compacted away), then 20-21.
    const [a, b, c, d, e] = [10, 11, 12, 20, 21].map((o) => t.add(record(o)));
    expect(t.commitPoint()).toBeUndefined();
    t.settle(c as TrackedMessage);
    t.settle(b as TrackedMessage);
    expect(t.commitPoint()).toBeUndefined(); // 10 still running
    t.settle(a as TrackedMessage);
    expect(t.commitPoint()).toBe(13n); // never past 20, which is unsettled
    expect(t.pending).toBe(2);
    t.settle(e as TrackedMessage);
    expect(t.commitPoint()).toBe(13n);
    t.settle(d as TrackedMessage);
    expect(t.commitPoint()).toBe(22n);
    expect(t.pending).toBe(0);
  });
});
